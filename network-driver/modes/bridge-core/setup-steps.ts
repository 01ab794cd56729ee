/**
 * @module Making a bridge network is a queue of small steps, each with the condition under which it
 * applies and, where it leaves something behind, its undo (libnetwork's `bridge/setup.go` model). Steps
 * are idempotent, so restore re-runs the same queue; a failure undoes the steps already done, in reverse.
 */
import { UnsupportedError } from '../../../common/protocol/errors.js';
import type { BridgeConfig } from './options.js';
import type { BridgeFirewall } from './firewall.js';
import type { NetworkFirewall } from './firewall-plan.js';
import type { ModeKernel } from '../kernel.js';

/** A network's settings as its setup steps need them: the config plus what was resolved at create time. */
export interface BridgePlan extends BridgeConfig {
  mtu: number;
  /** The bridge's MAC, which also marks the bridge as this plugin instance's (see bridge-mode.ts). */
  mac: string;
  /** Whether the bridge already existed before this setup (a leftover of ours is adopted, not undone). */
  existed: boolean;
}

/** What steps act through. */
export interface StepContext {
  kernel: ModeKernel;
  firewall: BridgeFirewall;
}

/** One step of the queue. */
export interface SetupStep {
  name: string;
  /** Default: always. */
  when?(p: BridgePlan): boolean;
  run(c: StepContext, p: BridgePlan): Promise<void>;
  undo?(c: StepContext, p: BridgePlan): Promise<void>;
}

/** The network's entry in the firewall. */
export function firewallEntry(p: BridgeConfig): NetworkFirewall {
  return { bridge: p.bridge, icc: p.icc, internal: p.internal, masquerade: p.masquerade };
}

/** The kernel part of the queue, in order (restore re-runs these, then rebuilds the firewall whole). */
export const KERNEL_STEPS: readonly SetupStep[] = [
  {
    name: 'create the bridge',
    run: (c, p) => c.kernel.ensureBridge(p.bridge, { mtu: p.mtu, mac: p.mac }),
    undo: (c, p) => (p.existed ? Promise.resolve() : c.kernel.deleteLink(p.bridge)),
  },
  {
    name: 'put the IPv4 gateway on the bridge',
    when: (p) => !p.inhibitIpv4 && p.gateways4.length > 0,
    run: async (c, p) => {
      for (const gw of p.gateways4) await c.kernel.ensureAddress(p.bridge, gw);
    },
  },
  {
    name: 'put the IPv6 gateway on the bridge',
    when: (p) => p.gateways6.length > 0,
    run: async (c, p) => {
      for (const gw of p.gateways6) await c.kernel.ensureAddress(p.bridge, gw);
    },
  },
  {
    name: 'enable IPv4 forwarding',
    when: (p) => !p.internal,
    run: (c) => c.kernel.ensureSysctl('net.ipv4.ip_forward', '1'),
  },
  {
    name: 'enable IPv6 forwarding',
    when: (p) => p.ipv6 && !p.internal,
    run: (c) => c.kernel.ensureSysctl('net.ipv6.conf.all.forwarding', '1'),
  },
  {
    // Without br_netfilter's hooks, traffic between two ports of one bridge never meets the firewall.
    name: 'pass bridged traffic through the firewall (ICC off)',
    when: (p) => !p.icc,
    run: async (c, p) => {
      try {
        await c.kernel.ensureSysctl('net.bridge.bridge-nf-call-iptables', '1');
        if (p.ipv6) await c.kernel.ensureSysctl('net.bridge.bridge-nf-call-ip6tables', '1');
      } catch (err) {
        throw new UnsupportedError('ICC off needs the br_netfilter kernel module (modprobe br_netfilter), whose sysctls could not be set', { cause: err });
      }
    },
  },
  {
    // Lets a connection to 127.0.0.1:<published port> be routed to the container after DNAT.
    name: 'allow loopback sources to be routed to the bridge',
    when: (p) => !p.internal,
    run: (c, p) => c.kernel.ensureSysctl(`net/ipv4/conf/${p.bridge}/route_localnet`, '1'),
  },
];

/** The whole queue for a new network. The firewall comes last: the network is reachable only once all else is ready. */
export const BRIDGE_STEPS: readonly SetupStep[] = [
  ...KERNEL_STEPS,
  {
    name: 'add the network to the firewall',
    run: (c, p) => c.firewall.addNetwork(firewallEntry(p)),
    undo: (c, p) => c.firewall.removeNetwork(p.bridge),
  },
];

/**
 * Runs the steps that apply to `plan`, in order. On a failure, runs the undo of every step already
 * done, in reverse, and rethrows the error (naming the step); an undo that fails is reported to `onUndoError`.
 */
export async function runSteps(steps: readonly SetupStep[], c: StepContext, plan: BridgePlan, onUndoError: (step: string, err: unknown) => void): Promise<void> {
  const done: SetupStep[] = [];
  for (const step of steps) {
    if (step.when && !step.when(plan)) continue;
    try {
      await step.run(c, plan);
    } catch (err) {
      for (const d of done.reverse()) {
        try {
          await d.undo?.(c, plan);
        } catch (undoErr) {
          onUndoError(d.name, undoErr);
        }
      }
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { message: `${step.name}: ${err instanceof Error ? err.message : String(err)}` });
    }
    done.push(step);
  }
}
