import { describe, expect, it } from 'vitest';
import { createNoneMode } from './none-mode.js';
import { refusal } from '../../../testing/refusal.js';

describe('mode none', () => {
  it('takes no options, naming any it is given', () => {
    expect(createNoneMode().parseOptions({})).toEqual({});
    expect(() => createNoneMode().parseOptions({ mtu: '1400', parent: 'x' })).toThrow(refusal('ERR_INVALID_REQUEST', 'unknown options "mtu", "parent" for mode none'));
  });

  it('hands Docker no interface and opts out of its gateway bridge', async () => {
    const joined = await createNoneMode().join({} as never, {} as never);
    expect(joined.response).toEqual({ InterfaceName: { SrcName: '', DstPrefix: '' }, DisableGatewayService: true });
  });
});
