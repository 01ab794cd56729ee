/**
 * @module Parsing `-v`/`--volume` and `--mount` as docker does (its Linux parser), into mount
 * records. Pure. Messages follow docker's so users recognise them. Volume names are not checked
 * here: like dockerd, engine-lite leaves them to the volume driver.
 */
import { InvalidArgumentError } from '../errors.js';
import type { MountRecord } from '../state/records.js';

/** A parsed mount, plus what only matters when a named volume has to be created. */
export interface MountRequest extends MountRecord {
  /** volume: made for this container only (no name given). */
  anonymous?: boolean;
  /** volume: `volume-opt`s, used only if this run creates the volume. */
  volumeOptions?: Record<string, string>;
}

const PROPAGATION_OK = new Set(['private', 'rprivate']);
const PROPAGATION_ALL = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

function checkDestination(spec: string, dst: string, flag: string): void {
  if (!dst.startsWith('/')) throw new InvalidArgumentError(`invalid ${flag} specification: '${spec}': mount path must be absolute`);
  if (dst.replace(/\/+$/, '') === '') throw new InvalidArgumentError(`invalid ${flag} specification: '${spec}': destination can't be '/'`);
}

function checkPropagation(spec: string, mode: string): void {
  if (!PROPAGATION_OK.has(mode)) throw new InvalidArgumentError(`invalid mount specification: '${spec}': engine-lite supports only private propagation, not ${mode}`);
}

/**
 * Parses one `-v` spec: `/dst` (anonymous volume), `NAME:/dst[:mode]` (named volume) or
 * `/host:/dst[:mode]` (bind mount); modes are `ro`, `rw`, `z`, `Z`, `nocopy` (volumes) and
 * `private`/`rprivate`, comma-separated.
 * @throws InvalidArgumentError
 */
export function parseVolumeFlag(spec: string, volumeDriver: string): MountRequest {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new InvalidArgumentError(`invalid volume specification: '${spec}'`);
  const [first = '', second, modeText] = parts;
  if (second === undefined) {
    checkDestination(spec, first, 'volume');
    return { type: 'volume', source: '', destination: first, readonly: false, driver: volumeDriver, anonymous: true };
  }
  checkDestination(spec, second, 'volume');
  const bind = first.startsWith('/');
  let readonly = false;
  for (const mode of modeText === undefined ? [] : modeText.split(',')) {
    if (mode === 'ro' || mode === 'rw') readonly = mode === 'ro';
    else if (mode === 'nocopy' && !bind) continue;
    else if (mode === 'z' || mode === 'Z') continue; // SELinux relabelling: nothing to do without SELinux
    else if (PROPAGATION_ALL.has(mode)) checkPropagation(spec, mode);
    else throw new InvalidArgumentError(`invalid mode: ${mode} (in volume specification '${spec}')`);
  }
  if (bind) return { type: 'bind', source: first, destination: second, readonly };
  return { type: 'volume', source: first, destination: second, readonly, driver: volumeDriver };
}

/** Splits `a=b,c=d` (values may be quoted with "…" to hold commas). */
function csvFields(spec: string): string[] {
  const out: string[] = [];
  for (const m of spec.matchAll(/(?:[^,"]|"[^"]*")+/g)) out.push(m[0].replace(/"/g, ''));
  return out;
}

function boolValue(spec: string, key: string, v: string | undefined): boolean {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidArgumentError(`invalid argument "${spec}" for "--mount" flag: invalid value for ${key}: ${v}`);
}

/**
 * Parses one `--mount` spec: `type=bind|volume|tmpfs` (default volume), `source`/`src`,
 * `target`/`destination`/`dst`, `readonly`/`ro`, `volume-driver`, `volume-opt=k=v`,
 * `volume-nocopy`, `bind-propagation`, `tmpfs-size`, `tmpfs-mode`.
 * @throws InvalidArgumentError
 */
export function parseMountFlag(spec: string, volumeDriver: string): MountRequest {
  const bad = (why: string) => new InvalidArgumentError(`invalid argument "${spec}" for "--mount" flag: ${why}`);
  let type = 'volume';
  let source = '';
  let destination = '';
  let readonly = false;
  let driver = volumeDriver;
  const volumeOptions: Record<string, string> = {};
  const tmpfs: string[] = [];
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const need = () => {
      if (value === undefined || value === '') throw bad(`${key} needs a value`);
      return value;
    };
    switch (key) {
      case 'type':
        type = need();
        if (!['bind', 'volume', 'tmpfs'].includes(type)) throw bad(`mount type "${type}" is not supported (bind, volume, tmpfs)`);
        break;
      case 'source':
      case 'src':
        source = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        destination = need();
        break;
      case 'readonly':
      case 'ro':
        readonly = boolValue(spec, key, value);
        break;
      case 'volume-driver':
        driver = need();
        break;
      case 'volume-opt': {
        const kv = need();
        const i = kv.indexOf('=');
        if (i <= 0) throw bad(`volume-opt must be key=value, got "${kv}"`);
        volumeOptions[kv.slice(0, i)] = kv.slice(i + 1);
        break;
      }
      case 'volume-nocopy':
      case 'consistency':
        break;
      case 'bind-propagation':
        checkPropagation(spec, need());
        break;
      case 'tmpfs-size':
        tmpfs.push(`size=${need()}`);
        break;
      case 'tmpfs-mode':
        tmpfs.push(`mode=${need()}`);
        break;
      default:
        throw bad(`unexpected key '${key}'`);
    }
  }
  if (destination === '') throw bad('target is required');
  checkDestination(spec, destination, 'mount');
  if (type === 'tmpfs') {
    if (source !== '') throw bad('source is not allowed for tmpfs mounts');
    return { type: 'tmpfs', source: '', destination, readonly, tmpfsOptions: tmpfs.join(',') };
  }
  if (type === 'bind') {
    if (!source.startsWith('/')) throw bad('bind source must be an absolute path');
    return { type: 'bind', source, destination, readonly };
  }
  if (source === '') return { type: 'volume', source: '', destination, readonly, driver, anonymous: true, volumeOptions };
  return { type: 'volume', source, destination, readonly, driver, volumeOptions };
}

/**
 * Checks that no two mounts share a destination.
 * @throws InvalidArgumentError `Duplicate mount point: /x`
 */
export function checkDuplicateDestinations(mounts: readonly MountRecord[]): void {
  const seen = new Set<string>();
  for (const m of mounts) {
    const d = m.destination.replace(/\/+$/, '');
    if (seen.has(d)) throw new InvalidArgumentError(`Duplicate mount point: ${d}`);
    seen.add(d);
  }
}
