/**
 * @module What the bridge core's phases share: the kernel seam, the firewall, the ports in use, which
 * bridge belongs to which network, and the MAC that marks a bridge as this instance's. One per mode
 * built on the core (bridge, overlay); made by phases.ts.
 */
import type { Logger } from '../../../common/log.js';
import type { BackgroundWork } from './background.js';
import type { BridgeFirewall } from './firewall.js';
import type { ModeKernel } from '../kernel.js';
import type { PortTable } from './port-table.js';
import type { BridgeNetworkConfig } from './options.js';

export interface BridgeContext {
  kernel: ModeKernel;
  firewall: BridgeFirewall;
  ports: PortTable;
  /** Bridge name → ID of the network that owns it (this instance's networks only). */
  bridges: Map<string, string>;
  /**
   * MAC every bridge of this instance gets (`02:74:73:` + the instance tag). A fixed MAC keeps the
   * gateway's MAC from changing as ports come and go; it also tells restore which bridges are ours when
   * several plugin instances share a host.
   */
  bridgeMac: string;
  /** Kernel work answered before it ends (veth deletion), per network. */
  background: BackgroundWork;
  /** The MTU of a network without `-o mtu=`: the uplink's for bridge mode (looked up once, then cached), less the flavour's overhead for its config. */
  defaultMtu(config: BridgeNetworkConfig): Promise<number>;
  log: Logger;
}
