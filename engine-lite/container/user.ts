/**
 * @module `--user USER[:GROUP]` resolved against an image's /etc/passwd and /etc/group as runc does:
 * names must exist there, numbers need not (a uid without an entry gets gid 0 and HOME /);
 * supplementary groups are those listing the user, unless a group is given.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** The identity a container's processes run as. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
}

const rows = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(':'));
const isId = (s: string) => /^\d+$/.test(s) && Number(s) < 2 ** 32;

/**
 * Resolves `spec` with the text of passwd and group files (empty when the image has none).
 * @throws InvalidArgumentError for an empty part or a name the files do not have.
 */
export function resolveUser(spec: string, passwd: string, group: string): ResolvedUser {
  const [user = '', grp, ...rest] = spec.split(':');
  if (user === '' || grp === '' || rest.length > 0) throw new InvalidArgumentError(`invalid --user "${spec}": expected USER[:GROUP]`);
  const pw = rows(passwd).find((r) => r[0] === user || (isId(user) && r[2] === user));
  if (!pw && !isId(user)) throw new InvalidArgumentError(`unable to find user ${user}: no matching entries in passwd file`);
  const out: ResolvedUser = { uid: Number(pw ? pw[2] : user), gid: Number(pw?.[3] ?? 0), groups: [], home: pw?.[5] || '/' };
  const groups = rows(group);
  if (grp !== undefined) {
    const g = groups.find((r) => r[0] === grp || (isId(grp) && r[2] === grp));
    if (!g && !isId(grp)) throw new InvalidArgumentError(`unable to find group ${grp}: no matching entries in group file`);
    out.gid = Number(g ? g[2] : grp);
  } else if (pw) {
    out.groups = groups.filter((r) => (r[3] ?? '').split(',').includes(pw[0]!)).map((r) => Number(r[2]));
  }
  return out;
}

/**
 * {@link resolveUser} with the image's files: `lowers` are its root filesystem directories, top layer
 * first (one for an imported image); each file is read from the topmost layer that has it.
 */
export async function resolveImageUser(spec: string, lowers: readonly string[]): Promise<ResolvedUser> {
  const read = async (f: string) => {
    for (const dir of lowers) {
      const text = await readFile(join(dir, 'etc', f), 'utf8').catch(() => undefined);
      if (text !== undefined) return text;
    }
    return '';
  };
  return resolveUser(spec, await read('passwd'), await read('group'));
}
