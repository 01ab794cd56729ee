/**
 * @module The link/address/route/neighbour/FDB operations as one object, the seam the drivers
 * depend on: production code passes {@link links}, unit tests pass a recording fake of
 * {@link Links}. Each member is the function of the same name (see its module for details).
 */
import { listAllAddresses, deleteAddress, ensureAddress, listAddresses } from './addresses.js';
import { deleteFdb, ensureFdb, listFdb } from './fdb.js';
import {
  deleteLink,
  ensureBridge,
  ensureMacvlan,
  ensureVethPair,
  ensureVxlan,
  findLink,
  listLinks,
  moveToNetns,
  setDown,
  setMac,
  setMaster,
  setMtu,
  setUp,
} from './links.js';
import { deleteNeighbor, ensureNeighbor, listNeighbors } from './neighbors.js';
import { deleteRoute, ensureRoute, listRoutes } from './routes.js';

/** Everything a driver may ask of the kernel about links, addresses, routes, neighbours and FDB. */
export interface Links {
  findLink: typeof findLink;
  listLinks: typeof listLinks;
  ensureBridge: typeof ensureBridge;
  ensureVethPair: typeof ensureVethPair;
  ensureVxlan: typeof ensureVxlan;
  ensureMacvlan: typeof ensureMacvlan;
  setMaster: typeof setMaster;
  setUp: typeof setUp;
  setDown: typeof setDown;
  setMtu: typeof setMtu;
  setMac: typeof setMac;
  deleteLink: typeof deleteLink;
  moveToNetns: typeof moveToNetns;
  ensureAddress: typeof ensureAddress;
  deleteAddress: typeof deleteAddress;
  listAddresses: typeof listAddresses;
  listAllAddresses: typeof listAllAddresses;
  ensureRoute: typeof ensureRoute;
  deleteRoute: typeof deleteRoute;
  listRoutes: typeof listRoutes;
  ensureNeighbor: typeof ensureNeighbor;
  deleteNeighbor: typeof deleteNeighbor;
  listNeighbors: typeof listNeighbors;
  ensureFdb: typeof ensureFdb;
  deleteFdb: typeof deleteFdb;
  listFdb: typeof listFdb;
}

/** The real implementation of {@link Links}. */
export const links: Links = {
  findLink,
  listLinks,
  ensureBridge,
  ensureVethPair,
  ensureVxlan,
  ensureMacvlan,
  setMaster,
  setUp,
  setDown,
  setMtu,
  setMac,
  deleteLink,
  moveToNetns,
  ensureAddress,
  deleteAddress,
  listAddresses,
  listAllAddresses,
  ensureRoute,
  deleteRoute,
  listRoutes,
  ensureNeighbor,
  deleteNeighbor,
  listNeighbors,
  ensureFdb,
  deleteFdb,
  listFdb,
};
