/**
 * @module Output formatting shared by the commands: docker-style tables, relative times
 * ("2 minutes ago", "Up 3 seconds") and the small subset of Go templates `--format` accepts here:
 * `{{.Field.Sub}}`, `{{json .Field}}` and literal text. Pure.
 */
import { InvalidArgumentError } from './errors.js';

/** Left-aligned columns separated by three spaces, as docker prints them. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

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

/**
 * Renders `template` against `value`: `{{.A.B}}` prints a field (Go's fmt style for maps and
 * lists), `{{json .A}}` its JSON, `{{.}}` the whole value.
 * @throws InvalidArgumentError for other actions or missing fields.
 */
export function renderTemplate(template: string, value: unknown): string {
  return template.replace(/\{\{\s*(json\s+)?(\.[\w.]*)\s*\}\}|\{\{[^}]*\}\}/g, (whole, json: string | undefined, path: string | undefined) => {
    if (path === undefined) throw new InvalidArgumentError(`template: ${template}: engine-lite supports only {{.Field}} and {{json .Field}}, not ${whole}`);
    const v = lookup(value, path.slice(1), template);
    return json ? JSON.stringify(v) : show(v);
  });
}
