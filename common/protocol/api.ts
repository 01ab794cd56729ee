/**
 * @module How a plugin interface is described and bound to an implementation, once for all three
 * APIs. An interface is a table of request schemas keyed by Docker's method name; its implementation
 * is an object with one camelCase method per entry (`CreateNetwork` → `createNetwork`), taking the
 * validated request. The wire field names stay Docker's (`NetworkID`, `Mountpoint`): the validated
 * request type is the contract, so there is no second, hand-copied camelCase model to drift.
 */
import type { z } from 'zod';

/**
 * Docker's three interfaces, plus the suite's own admin interfaces (`Tsnet…`), which are served on the
 * same socket for the `tsnet` CLI but never listed in `/Plugin.Activate`.
 */
export type InterfaceName = 'NetworkDriver' | 'IpamDriver' | 'VolumeDriver' | `Tsnet${string}`;

export type RequestSchemas = Record<string, z.ZodType>;

/** The implementation type of an interface: a method per request schema, returning its response. */
export type Handlers<S extends RequestSchemas, R extends { [K in keyof S]: object }> = {
  [K in keyof S & string as Uncapitalize<K>]: (req: z.output<S[K]>) => Promise<R[K]>;
};

export interface InterfaceSpec<S extends RequestSchemas> {
  name: InterfaceName;
  requests: S;
}

/** A bound interface, as the plugin server uses it: the method's schema and handler by method name. */
export interface BoundInterface {
  name: InterfaceName;
  methods: Map<string, { schema: z.ZodType; handle(req: unknown): Promise<object> }>;
}

export function defineInterface<S extends RequestSchemas>(name: InterfaceName, requests: S): InterfaceSpec<S> {
  return { name, requests };
}

/** Pairs each method of `spec` with the implementation's camelCase method of the same name. */
export function bindInterface<S extends RequestSchemas, R extends { [K in keyof S]: object }>(
  spec: InterfaceSpec<S>,
  impl: Handlers<S, R>,
): BoundInterface {
  const methods: BoundInterface['methods'] = new Map();
  for (const [method, schema] of Object.entries(spec.requests)) {
    const key = (method[0]!.toLowerCase() + method.slice(1)) as keyof typeof impl;
    const fn = impl[key] as unknown as (req: unknown) => Promise<object>;
    if (typeof fn !== 'function') throw new TypeError(`${spec.name} implementation lacks ${String(key)}()`);
    methods.set(method, { schema, handle: (req) => fn.call(impl, req) });
  }
  return { name: spec.name, methods };
}
