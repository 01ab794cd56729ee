import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveImageUser, resolveUser } from './user.js';
import { refusal } from '../../testing/refusal.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n';
const group = 'root:x:0:\nwww:x:33:\nlog:x:4:www,other\n';

describe('resolveUser', () => {
  it('resolves names and numbers as runc does', () => {
    expect(resolveUser('www', passwd, group)).toEqual({ uid: 33, gid: 33, groups: [4], home: '/var/www' });
    expect(resolveUser('33', passwd, group)).toEqual({ uid: 33, gid: 33, groups: [4], home: '/var/www' });
    expect(resolveUser('1000', passwd, group)).toEqual({ uid: 1000, gid: 0, groups: [], home: '/' });
    expect(resolveUser('1000:log', passwd, group)).toEqual({ uid: 1000, gid: 4, groups: [], home: '/' });
    expect(resolveUser('7:5', '', '')).toEqual({ uid: 7, gid: 5, groups: [], home: '/' });
  });

  it('refuses unknown names and malformed specs', () => {
    expect(() => resolveUser('nobody', passwd, group)).toThrow(refusal('ERR_INVALID_ARGUMENT', 'unable to find user nobody'));
    expect(() => resolveUser('www:staff', passwd, group)).toThrow(refusal('ERR_INVALID_ARGUMENT', 'unable to find group staff'));
    expect(() => resolveUser('1:2:3', passwd, group)).toThrow(refusal('ERR_INVALID_ARGUMENT', 'expected USER[:GROUP]'));
  });
});

describe('resolveImageUser', () => {
  it("reads each file from the topmost layer that has it (a layered image's passwd in one layer, group in a lower one)", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tstest-user-'));
    try {
      const [top, mid, base] = ['top', 'mid', 'base'].map((l) => join(dir, l, 'etc')) as [string, string, string];
      await Promise.all([top, mid, base].map((d) => mkdir(d, { recursive: true })));
      await writeFile(join(mid, 'passwd'), passwd);
      await writeFile(join(base, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      await writeFile(join(base, 'group'), group);
      const lowers = [top, mid, base].map((d) => join(d, '..'));
      expect(await resolveImageUser('www', lowers)).toEqual({ uid: 33, gid: 33, groups: [4], home: '/var/www' });
      await expect(resolveImageUser('www', lowers.slice(2))).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', 'unable to find user www'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
