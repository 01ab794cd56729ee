import { describe, expect, it } from 'vitest';
import { resolveUser } from './user.js';

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
    expect(() => resolveUser('nobody', passwd, group)).toThrow('unable to find user nobody');
    expect(() => resolveUser('www:staff', passwd, group)).toThrow('unable to find group staff');
    expect(() => resolveUser('1:2:3', passwd, group)).toThrow('expected USER[:GROUP]');
  });
});
