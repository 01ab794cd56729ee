import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import { acceptedNames, booleanValue, integerValue, interfaceNameValue, interfacePrefixValue, ipValue, mtuValue, normaliseOptions, type OptionSpec } from './options.js';
import { refusal } from '../../../testing/refusal.js';

const SPECS: OptionSpec[] = [
  { name: 'com.example.flag', aliases: ['flag'], normalise: booleanValue },
  { name: 'com.example.mtu', aliases: ['mtu'], normalise: mtuValue },
  { name: 'plain', aliases: [], normalise: ipValue },
];

describe('normaliseOptions', () => {
  it('stores every option under its long name, in canonical form', () => {
    expect(normaliseOptions('m', SPECS, { flag: 'T', 'com.example.mtu': '01400' })).toEqual({ 'com.example.flag': 'true', 'com.example.mtu': '1400' });
  });

  it('refuses unknown options, listing the valid ones with their short forms', () => {
    const err = (() => {
      try {
        normaliseOptions('m', SPECS, { colour: 'blue', size: '1' });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err!.message).toBe('unknown options "colour", "size" for mode m; valid options: com.example.flag (or flag); com.example.mtu (or mtu); plain');
  });

  it('accepts one setting under both names only when the values agree', () => {
    expect(normaliseOptions('m', SPECS, { flag: '1', 'com.example.flag': 'true' })).toEqual({ 'com.example.flag': 'true' });
    expect(() => normaliseOptions('m', SPECS, { flag: 'true', 'com.example.flag': 'false' })).toThrow(refusal('ERR_INVALID_REQUEST', 'options "flag" and "com.example.flag" are the same setting'));
  });

  it('lists accepted names long ones first', () => {
    expect(acceptedNames(SPECS)).toEqual(['com.example.flag', 'com.example.mtu', 'plain', 'flag', 'mtu']);
  });
});

describe('value normalisers', () => {
  it('read booleans as Go does', () => {
    for (const v of ['1', 't', 'TRUE', 'True']) expect(booleanValue(v, 'x')).toBe('true');
    for (const v of ['0', 'f', 'false', 'False']) expect(booleanValue(v, 'x')).toBe('false');
    expect(() => booleanValue('yes', 'icc')).toThrow(refusal('ERR_INVALID_REQUEST', 'option "icc" must be true or false, got "yes"'));
  });

  it('bound integers and MTUs', () => {
    expect(integerValue(1, 10)(' 7 ', 'n')).toBe('7');
    expect(() => integerValue(1, 10)('11', 'n')).toThrow(refusal('ERR_INVALID_REQUEST', 'from 1 to 10'));
    expect(() => mtuValue('1.5e3', 'mtu')).toThrow(refusal('ERR_INVALID_REQUEST', 'option "mtu" must be a whole number from 68 to 65535, got "1.5e3"'));
    expect(() => mtuValue('67', 'mtu')).toThrow(InvalidRequestError);
    expect(mtuValue('65535', 'mtu')).toBe('65535');
  });

  it('check addresses and interface names', () => {
    expect(ipValue('127.0.0.1', 'h')).toBe('127.0.0.1');
    expect(() => ipValue('localhost', 'h')).toThrow(refusal('ERR_INVALID_REQUEST', 'must be an IP address'));
    expect(interfaceNameValue('br_lan.1', 'b')).toBe('br_lan.1');
    expect(() => interfaceNameValue('a-name-that-is-too-long', 'b')).toThrow(refusal('ERR_INVALID_REQUEST', '1 to 15'));
    expect(() => interfaceNameValue('with space', 'b')).toThrow(InvalidRequestError);
    expect(interfacePrefixValue('ens', 'p')).toBe('ens');
    expect(() => interfacePrefixValue('0eth', 'p')).toThrow(refusal('ERR_INVALID_REQUEST', 'must be a letter'));
  });
});
