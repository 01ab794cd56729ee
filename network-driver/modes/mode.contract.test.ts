/**
 * The mode contract (./testing/mode.contract.ts) for every mode tsnet has, on the one recording fake kernel:
 * none, bridge, overlay (single host: no cluster; cleartext and encrypted) and macvlan (on the fake host's spare NIC, with the
 * host shim, so that the network owns kernel objects). No root.
 */
import { createBridgeMode } from './bridge/bridge-mode.js';
import { createMacvlanMode } from './macvlan/macvlan-mode.js';
import { runModeContract } from './testing/mode.contract.js';
import { createNoneMode } from './none/none-mode.js';
import { createOverlayMode } from './overlay/overlay-mode.js';

const tag = 'c0ffee';

runModeContract({ name: 'none', options: {}, make: () => createNoneMode() });
runModeContract({ name: 'bridge', options: {}, make: (kernel, log) => createBridgeMode({ kernel, tag, log }) });
runModeContract({ name: 'overlay', options: { vni: '4242' }, make: (kernel, log) => createOverlayMode({ kernel, tag, log }) });
runModeContract({ name: 'overlay', options: { vni: '4243', encrypted: 'true' }, make: (kernel, log) => createOverlayMode({ kernel, tag, log }) });
runModeContract({ name: 'macvlan', options: { parent: 'p0', host_access: 'true' }, make: (kernel, log) => createMacvlanMode({ kernel, tag, log }) });
