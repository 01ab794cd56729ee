import { describe, expect, it } from 'vitest';
import { noneMode } from './none-mode.js';

describe('mode none', () => {
  it('takes no options, naming any it is given', () => {
    expect(noneMode.parseOptions({})).toEqual({});
    expect(() => noneMode.parseOptions({ mtu: '1400', parent: 'x' })).toThrow('unknown options "mtu", "parent" for mode none');
  });

  it('hands Docker no interface and opts out of its gateway bridge', async () => {
    const joined = await noneMode.join({} as never, {} as never);
    expect(joined.response).toEqual({ InterfaceName: { SrcName: '', DstPrefix: '' }, DisableGatewayService: true });
  });
});
