/**
 * @module `tsnet status [NETWORK]`: the networks the running tsnet has, their endpoints and, for
 * overlays, the local VTEP, the key generation of an encrypted one (never a key), the remote hosts and
 * the FDB/neighbour entries programmed on the VXLAN device. Asks the plugin over its socket
 * (`TsnetNetwork.Status`, found by common/admin-cli); `--json` prints the reply whole.
 */
import type { Command } from 'commander';
import { adminCall, pluginsDirOption } from '../common/admin-cli.js';
import type { OverlayStatus } from './modes/overlay/status.js';
import type { NetworkStatusView, TsnetNetworkResponses } from './admin-api.js';
import { short } from './modes/shared/names.js';

/** Where the command writes; tests capture it. */
export interface StatusOutput {
  write(text: string): void;
}

/** Human-readable status of one network. */
export function formatStatus(n: NetworkStatusView): string {
  const lines = [`network ${short(n.ID)}  mode ${n.Mode}  subnets ${n.Subnets.join(', ') || '-'}`];
  for (const e of n.Endpoints) lines.push(`  endpoint ${short(e.ID)}  ${[e.Address, e.AddressIPv6].filter(Boolean).join(' ') || '-'}  ${e.MAC}${e.Joined ? '  joined' : ''}`);
  if (n.Mode === 'overlay') {
    const d = n.Details as OverlayStatus;
    lines.push(`  overlay vni ${d.vni}  device ${d.vxlan}  local VTEP ${d.vtep || '-'}  cluster ${d.cluster}`);
    const enc = d.encryption;
    if (enc) lines.push(`  encrypted  key generation ${enc.keyGeneration ?? '-'}  keys accepted ${enc.keysAccepted}  rekey after ${enc.rekeySeconds} s or ${enc.rekeyBytes} bytes  vxlan port ${d.port}`);
    for (const p of d.peers) lines.push(`  peer host ${p.host}  VTEP ${p.vtep}  ${p.endpoints} endpoint(s)`);
    for (const f of d.fdb) lines.push(`  fdb ${f.mac} -> ${f.vtep}`);
    for (const nb of d.neighbors) lines.push(`  neighbour ${nb.ip} -> ${nb.mac}`);
  }
  return lines.join('\n');
}

/** Adds `status` to the `tsnet` program. */
export function registerStatusCommand(program: Command, out: StatusOutput = process.stdout): void {
  program
    .command('status [network]')
    .description('show the networks of the running tsnet; for overlays the VTEPs, peers and programmed FDB/neighbour entries')
    .addOption(pluginsDirOption())
    .option('--json', 'print the reply as JSON')
    .action(async (network: string | undefined, o: { pluginsDir: string; json?: boolean }) => {
      const reply = await adminCall<TsnetNetworkResponses['Status']>(o.pluginsDir, 'network', 'Status', { NetworkID: network ?? '' });
      out.write(o.json ? `${JSON.stringify(reply, null, 2)}\n` : `${reply.Networks.map(formatStatus).join('\n\n') || 'no networks'}\n`);
    });
}
