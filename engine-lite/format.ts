/**
 * @module Output formatting shared by the commands (tables are common/cli/table.ts): relative times
 * ("2 minutes ago", "Up 3 seconds") and the subset of Go templates `--format` accepts here: fields
 * (`{{.Field.Sub}}`, `{{.}}`), the functions `json` and `index`, the blocks `if`, `with` and `range`
 * (each with an optional `else`), and `{{-`/`-}}` trimming; no pipes, parentheses or variables. Pure.
 */
import { InvalidArgumentError } from './errors.js';

/** "3 seconds", "About a minute", "2 hours", … exactly as docker's units.HumanDuration words them. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.floor(ms / 3_600_000 + 0.5);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** "5 minutes ago" for an ISO time. */
export function ago(iso: string, now = Date.now()): string {
  return `${humanDuration(now - Date.parse(iso))} ago`;
}

/** A parsed template: text, a printed pipeline, or a block with its body and `else` part. */
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; pipe: string }
  | { kind: 'if' | 'with' | 'range'; pipe: string; body: Node[]; alt: Node[] };

/** Text and actions in order, with Go's `{{- ` and ` -}}` trimming applied to the text beside them. */
function tokenize(template: string): Array<{ text: string } | { action: string }> {
  const tokens: Array<{ text: string } | { action: string }> = [];
  let last = 0;
  let trimNext = false;
  for (const m of template.matchAll(/\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g)) {
    let text = template.slice(last, m.index);
    if (trimNext) text = text.trimStart();
    if (m[1]) text = text.trimEnd();
    tokens.push({ text }, { action: m[2]!.trim() });
    trimNext = m[3] !== undefined;
    last = m.index + m[0].length;
  }
  const rest = template.slice(last);
  tokens.push({ text: trimNext ? rest.trimStart() : rest });
  return tokens;
}

function unsupported(template: string, what: string): InvalidArgumentError {
  return new InvalidArgumentError(`template: ${template}: engine-lite supports only fields, json, index, if, with, range, else and end, not ${what}`);
}

/** Parses tokens from `pos.i` up to the `else` or `end` closing the current block (`eof` at top level). */
function parseNodes(tokens: ReturnType<typeof tokenize>, pos: { i: number }, template: string, inBlock: boolean): { nodes: Node[]; stop: 'else' | 'end' | 'eof' } {
  const nodes: Node[] = [];
  while (pos.i < tokens.length) {
    const t = tokens[pos.i++]!;
    if ('text' in t) {
      if (t.text !== '') nodes.push({ kind: 'text', text: t.text });
      continue;
    }
    const m = /^(if|with|range|else|end)\b\s*([\s\S]*)$/.exec(t.action);
    if (!m) {
      nodes.push({ kind: 'print', pipe: t.action });
      continue;
    }
    const keyword = m[1] as 'if' | 'with' | 'range' | 'else' | 'end';
    const pipe = m[2]!;
    if (keyword === 'else' || keyword === 'end') {
      if (pipe !== '') throw unsupported(template, `{{${t.action}}}`);
      if (!inBlock) throw new InvalidArgumentError(`template: ${template}: unexpected {{${keyword}}}`);
      return { nodes, stop: keyword };
    }
    const body = parseNodes(tokens, pos, template, true);
    const alt = body.stop === 'else' ? parseNodes(tokens, pos, template, true) : { nodes: [], stop: body.stop };
    if (alt.stop !== 'end') throw new InvalidArgumentError(`template: ${template}: unexpected {{else}} or missing {{end}}`);
    nodes.push({ kind: keyword, pipe, body: body.nodes, alt: alt.nodes });
  }
  if (inBlock) throw new InvalidArgumentError(`template: ${template}: unexpected EOF`);
  return { nodes, stop: 'eof' };
}

function lookup(value: unknown, path: string, template: string): unknown {
  let v = value;
  for (const key of path.split('.').filter(Boolean)) {
    if (v === null || typeof v !== 'object' || !(key in v)) throw new InvalidArgumentError(`template: ${template}: can't evaluate field ${key}`);
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v).map(([k, x]) => `${k}:${show(x)}`).join(' ')}]`;
  return String(v);
}

/** Go's truth: false, 0, nil, and empty strings, lists and maps are false. */
function truth(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

/** `index` of one key: a map's value (missing: no value), a list's element. */
function indexOf(v: unknown, key: unknown, template: string): unknown {
  if (Array.isArray(v)) {
    if (typeof key !== 'number' || key < 0 || key >= v.length) throw new InvalidArgumentError(`template: ${template}: error calling index: index out of range: ${String(key)}`);
    return v[key];
  }
  if (v === null || typeof v !== 'object') throw new InvalidArgumentError(`template: ${template}: error calling index: can't index item of type ${v === null ? 'nil' : typeof v}`);
  return (v as Record<string, unknown>)[String(key)];
}

/** The value of a pipeline: an argument (`.`, `.A.B`, a quoted string, a number), `json ARG` or `index ARG KEY…`. */
function evalPipe(pipe: string, dot: unknown, template: string): unknown {
  const arg = (word: string | undefined): unknown => {
    if (word === '.') return dot;
    if (word?.startsWith('.')) return lookup(dot, word.slice(1), template);
    if (word?.startsWith('"')) return JSON.parse(word) as string;
    if (word !== undefined && /^-?\d+$/.test(word)) return Number(word);
    throw unsupported(template, `{{${pipe}}}`);
  };
  const [fn, ...args] = pipe.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  if (fn === 'json' && args.length === 1) return JSON.stringify(arg(args[0]));
  if (fn === 'index' && args.length >= 1) return args.slice(1).reduce((v, k) => indexOf(v, arg(k), template), arg(args[0]));
  if (args.length === 0) return arg(fn);
  throw unsupported(template, `{{${pipe}}}`);
}

function render(nodes: readonly Node[], dot: unknown, template: string): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'print') out += show(evalPipe(n.pipe, dot, template));
    else {
      const v = evalPipe(n.pipe, dot, template);
      if (!truth(v)) out += render(n.alt, dot, template);
      else if (n.kind === 'if') out += render(n.body, dot, template);
      else if (n.kind === 'with') out += render(n.body, v, template);
      else if (Array.isArray(v) || typeof v === 'object') {
        const items = Array.isArray(v) ? v : Object.keys(v as object).sort().map((k) => (v as Record<string, unknown>)[k]);
        for (const item of items) out += render(n.body, item, template);
      } else throw new InvalidArgumentError(`template: ${template}: range can't iterate over ${show(v)}`);
    }
  }
  return out;
}

/**
 * Renders `template` against `value` as Go's text/template would, for the subset in this module's
 * comment: fields print in Go's fmt style for maps and lists, `json` gives JSON, `range` over a map
 * goes through its values in key order.
 * @throws InvalidArgumentError for anything outside the subset, and for missing fields.
 */
export function renderTemplate(template: string, value: unknown): string {
  return render(parseNodes(tokenize(template), { i: 0 }, template, false).nodes, value, template);
}
