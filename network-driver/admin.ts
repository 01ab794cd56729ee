/**
 * @module The `TsnetNetwork` admin interface over the driver: conversion to wire views only.
 */
import { bindInterface, type BoundInterface, type Handlers } from '../common/protocol/api.js';
import { TsnetNetworkSpec, tsnetNetworkRequests, type TsnetNetworkResponses } from './admin-api.js';
import type { NetworkDriver } from './driver.js';

/** How many ports a mode's endpoint state says are published (bridge keeps them as `state.ports`). */
const publishedPorts = (state: Record<string, unknown>) => (Array.isArray(state['ports']) ? state['ports'].length : 0);

/** Binds `TsnetNetwork` to `driver`. */
export function bindNetworkAdmin(driver: NetworkDriver): BoundInterface {
  const impl: Handlers<typeof tsnetNetworkRequests, TsnetNetworkResponses> = {
    status: async (req) => ({
      Networks: (await driver.status(req.NetworkID, req.Details)).map(({ net, endpoints, mode }) => ({
        ID: net.id,
        Mode: net.mode,
        Options: net.options,
        Subnets: [...net.ipv4, ...net.ipv6].map((p) => p.Pool),
        Endpoints: endpoints.map((e) => ({ ID: e.id, Address: e.address, AddressIPv6: e.addressIpv6, MAC: e.mac, Joined: e.sandboxKey !== undefined, PublishedPorts: publishedPorts(e.state) })),
        Details: mode,
      })),
    }),
    check: async () => ({ Findings: await driver.check() }),
    repair: async () => {
      await driver.repair();
      return {};
    },
  };
  return bindInterface(TsnetNetworkSpec, impl);
}
