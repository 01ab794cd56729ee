/**
 * @module `-o mode=none`: the container gets only its loopback, like Docker's `--network none`, but
 * as a real named network (records, restarts and `docker network rm` behave like any other mode).
 * Join hands Docker no interface and opts out of Docker's gateway bridge, so nothing but `lo` appears.
 * It makes no kernel objects, so it takes no kernel seam.
 */
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import type { NetworkMode } from '../mode.js';

/** Mode none's record config (version 1): nothing to configure. */
export interface NoneConfig {
  v: 1;
}

/** Checks that no `-o` option but `mode` was given (mode none has none). Pure. */
export function parseNoneOptions(generic: Record<string, string>): Record<string, string> {
  const unknown = Object.keys(generic);
  if (unknown.length > 0) {
    throw new InvalidRequestError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} for mode none (it takes no options besides mode)`);
  }
  return {};
}

/** Mode none's config of a new network. */
export const configureNone = (): NoneConfig => ({ v: 1 });

/** Builds mode none; like every mode it has a factory, though it needs nothing. */
export function createNoneMode(): NetworkMode<NoneConfig> {
  return {
    name: 'none',
    optionNames: [],
    parseOptions: parseNoneOptions,
    configure: configureNone,
    createNetwork: async () => undefined,
    deleteNetwork: async () => undefined,
    createEndpoint: async () => ({ state: {} }),
    deleteEndpoint: async () => undefined,
    // An empty SrcName makes dockerd add no interface; DisableGatewayService stops it from adding
    // one on docker_gwbridge for a network without a gateway (docs/plugin-protocol.md §2.8 step 5).
    join: async () => ({ response: { InterfaceName: { SrcName: '', DstPrefix: '' }, DisableGatewayService: true }, state: {} }),
    leave: async () => undefined,
    operInfo: () => ({}),
    restore: async () => undefined,
  };
}
