/**
 * @module `-o mode=macvlan`: containers get a macvlan child of a host interface (`-o parent=`) and sit
 * on that interface's LAN with their own MAC, routed by the LAN's router. Modes bridge (default),
 * private, vepa and passthru as Docker names them (`-o macvlan_mode=`); `parent=IFACE.VID` makes an
 * 802.1Q sub-interface; `-o host_access=true` adds a host shim so the host reaches its containers,
 * which Docker's macvlan cannot. See docs/tsnet.md, "Mode `macvlan`". Phases: network.ts, endpoint.ts,
 * join-leave.ts, restore.ts, check.ts (doctor).
 */
import { KeyedMutex } from '../../../common/keyed-mutex.js';
import type { ModeKernel } from '../kernel.js';
import type { ModeOptions, NetworkMode } from '../mode.js';
import { checkMacvlan, repairMacvlan } from './check.js';
import type { MacvlanContext } from './context.js';
import { createEndpoint, deleteEndpoint } from './endpoint.js';
import { join, operInfo } from './join-leave.js';
import { createNetwork, deleteNetwork } from './network.js';
import { macvlanTag } from './names.js';
import { configureMacvlan, MACVLAN_OPTION_NAMES, normaliseMacvlanOptions, type MacvlanConfig } from './options.js';
import { ParentRegistry } from './parents.js';
import { restore } from './restore.js';

/**
 * Builds macvlan mode over the given kernel seam. Network create, delete and restore are serialised across networks, since they decide who may share a parent.
 * @throws RangeError when `tag` does not start with 4 hex digits.
 */
export function createMacvlanMode(opts: ModeOptions<ModeKernel>): NetworkMode<MacvlanConfig> {
  const ctx: MacvlanContext = {
    kernel: opts.kernel,
    log: opts.log.child({ mode: 'macvlan' }),
    parents: new ParentRegistry(),
    tag: macvlanTag(opts.tag),
  };
  const lock = new KeyedMutex();
  const acrossNetworks = <T>(fn: () => Promise<T>) => lock.run('parents', fn);
  return {
    name: 'macvlan',
    optionNames: MACVLAN_OPTION_NAMES,
    parseOptions: normaliseMacvlanOptions,
    configure: configureMacvlan,
    createNetwork: (net) => acrossNetworks(() => createNetwork(ctx, net)),
    deleteNetwork: (net) => acrossNetworks(() => deleteNetwork(ctx, net)),
    createEndpoint: (net, ep) => createEndpoint(ctx, net, ep),
    deleteEndpoint: (net, ep) => deleteEndpoint(ctx, net, ep),
    join: (net, ep) => join(ctx, net, ep),
    leave: async () => undefined,
    operInfo: (net, ep) => operInfo(ctx, net, ep),
    restore: (nets, eps) => acrossNetworks(() => restore(ctx, nets, eps)),
    check: (nets, eps) => checkMacvlan(ctx, nets, eps),
    repair: (nets, eps) => acrossNetworks(() => repairMacvlan(ctx, nets, eps)),
  };
}
