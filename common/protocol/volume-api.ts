/**
 * @module The VolumeDriver API; see docs/plugin-protocol.md §4. Volume names are not checked
 * by dockerd for plugin drivers, so the schema applies Docker's naming rule (the driver checks again
 * before a name becomes a path).
 */
import { z } from 'zod';
import { DOCKER_INTERFACE } from '../plugin.js';
import { bindInterface, defineInterface, type Handlers } from './api.js';
import { empty, id, stringOptions, volumeName } from './fields.js';

const nameRef = { Name: volumeName };

export const volumeRequests = {
  Create: z.object({ ...nameRef, Opts: stringOptions }),
  Remove: z.object(nameRef),
  Mount: z.object({ ...nameRef, ID: id }),
  Unmount: z.object({ ...nameRef, ID: id }),
  Path: z.object(nameRef),
  Get: z.object(nameRef),
  List: empty,
  Capabilities: empty,
};

type Req = { [K in keyof typeof volumeRequests]: z.output<(typeof volumeRequests)[K]> };
export type CreateVolumeRequest = Req['Create'];
export type MountRequest = Req['Mount'];

export interface VolumeInfo {
  Name: string;
  Mountpoint: string;
  /** RFC 3339; omit rather than send "" (dockerd fails the whole Get on ""). */
  CreatedAt?: string;
  Status?: Record<string, unknown>;
}

export interface VolumeResponses {
  Create: object;
  Remove: object;
  Mount: { Mountpoint: string };
  Unmount: object;
  Path: { Mountpoint: string };
  Get: { Volume: VolumeInfo };
  List: { Volumes: VolumeInfo[] };
  Capabilities: { Capabilities: { Scope: 'local' | 'global' } };
}

export const VolumeDriverSpec = defineInterface(DOCKER_INTERFACE.volume, volumeRequests);
export type VolumeDriverApi = Handlers<typeof volumeRequests, VolumeResponses>;
export const bindVolumeDriver = (impl: VolumeDriverApi) => bindInterface(VolumeDriverSpec, impl);
