/**
 * @module Child process that serves the {@link Links} API over stdin/stdout, one JSON request a
 * line (`{"id":1,"fn":"ensureBridge","args":["tsbr0",{}]}`). Started by `links-in-netns.ts` with
 * `ip netns exec NS node …`, so that the netlink path (our own namespace) can be tested inside a
 * throwaway namespace without touching the host's. Not for production use.
 */
import { createInterface } from 'node:readline';
import { links } from '../../common/kernel/links-api.js';
import { closeRtnl } from '../../common/kernel/rtnl-socket.js';

interface Request {
  id: number;
  fn: keyof typeof links;
  args: unknown[];
}

const isUndefinedMarker = (a: unknown) => typeof a === 'object' && a !== null && '$undefined' in a;

const reply = (msg: object) => process.stdout.write(JSON.stringify(msg) + '\n');

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line) as Request;
  const fn = links[req.fn] as ((...args: unknown[]) => Promise<unknown>) | undefined;
  // JSON has no `undefined`: the parent sends it as a marker object (see links-in-netns.ts).
  const args = req.args.map((a) => (isUndefinedMarker(a) ? undefined : a));
  (fn ? Promise.resolve().then(() => fn(...args)) : Promise.reject(new TypeError(`no such function: ${req.fn}`))).then(
    (value) => reply({ id: req.id, ok: true, value: value ?? null }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      reply({ id: req.id, ok: false, error: { ...e, name: e.name, message: e.message, stack: e.stack } });
    },
  );
});
rl.on('close', () => closeRtnl());
