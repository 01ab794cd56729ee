/**
 * @module The one rtnetlink socket of the process, wrapped the way CNI's `netlinksafe` wraps
 * vishvananda/netlink. Why a wrapper:
 * - the `netlink` package groups multipart replies without looking at sequence numbers, and the
 *   kernel refuses a second dump on a socket while one runs (EBUSY), so requests are serialised;
 * - a dump that raced with a change comes back flagged NLM_F_DUMP_INTR (or fails with EINTR) and
 *   must be retried, at most {@link MAX_DUMP_ATTEMPTS} times;
 * - the package rejects with `Error("Request rejected: EEXIST")`; we turn that into {@link Errno}.
 * The socket belongs to the network namespace the process was in when it was opened. Only the
 * netlink back end (`rt-netlink.ts`) uses this module.
 */
import { createRtNetlink, Flags, FlagsGet, rt, type NetlinkMessage, type RtNetlinkSocket } from 'netlink';
import { Errno, errnoFromCode } from './rt-errors.js';

/** How often an interrupted dump is tried before giving up (CNI netlinksafe: maxAttempts = 5). */
export const MAX_DUMP_ATTEMPTS = 5;

let socket: RtNetlinkSocket | undefined;
/** Sequence numbers of replies that carried NLM_F_DUMP_INTR (on any part, DONE included). */
const interrupted = new Set<number>();
let queue: Promise<unknown> = Promise.resolve();
/** Rejects the request in flight (requests are serialised, so there is at most one). */
let abortCurrent: ((err: unknown) => void) | undefined;

interface Emitter {
  emitMessage(msg: NetlinkMessage | NetlinkMessage[], rinfo: unknown): unknown;
}

function open(): RtNetlinkSocket {
  if (socket) return socket;
  const s = createRtNetlink();
  // NetlinkSocket strips the DONE message, which is where the kernel may put NLM_F_DUMP_INTR,
  // before the request promise resolves: look at every part on the way through.
  const inner = s.socket as unknown as Emitter;
  const emit = inner.emitMessage.bind(inner);
  inner.emitMessage = (msg, rinfo) => {
    const parts = Array.isArray(msg) ? msg : [msg];
    const first = parts[0];
    if (first && parts.some((m) => (m.flags & Flags.DUMP_INTR) !== 0)) interrupted.add(first.seq);
    return emit(msg, rinfo);
  };
  // A socket error (e.g. ENOBUFS when replies overflow the receive buffer) would otherwise be an
  // unhandled 'error' event, and the request in flight would wait forever: fail it, start afresh.
  s.socket.on('error', (err) => {
    if (socket === s) closeRtnl();
    abortCurrent?.(err);
  });
  socket = s;
  return s;
}

/** Closes the socket (the next request opens a new one). For benchmarks and child processes that want to exit promptly. */
export function closeRtnl(): void {
  socket?.socket.close();
  socket = undefined;
}

function toErrno(err: unknown): Errno {
  if (err instanceof Errno) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const m = /Request rejected: (\w+)/.exec(msg);
  if (m?.[1] !== undefined) return errnoFromCode(/^-?\d+$/.test(m[1]) ? Number(m[1]) : m[1], err);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return errnoFromCode(code, err);
  return new Errno('EIO', msg, { cause: err });
}

/**
 * Runs `fn` on the socket after every earlier request finished; failures become {@link Errno}.
 * `fn` must not call {@link rtnl} itself: the inner request would wait for the outer one forever.
 */
export function rtnl<T>(fn: (s: RtNetlinkSocket) => Promise<T>): Promise<T> {
  const run = async () => {
    try {
      const s = open();
      return await new Promise<T>((resolve, reject) => {
        abortCurrent = reject;
        fn(s).then(resolve, reject);
      });
    } catch (err) {
      throw toErrno(err);
    } finally {
      abortCurrent = undefined;
    }
  };
  const p = queue.then(run, run);
  queue = p.catch(() => undefined);
  return p;
}

/** What one dump attempt returns when the kernel flagged it as inconsistent. */
export const INTERRUPTED = Symbol('dump interrupted');

/**
 * Calls `attempt` until it returns a complete result, at most {@link MAX_DUMP_ATTEMPTS} times;
 * then fails with {@link Errno} `EINTR`. Separate from the socket so that it can be unit-tested.
 */
export async function retryInterrupted<T>(attempt: () => Promise<T | typeof INTERRUPTED>): Promise<T> {
  for (let i = 1; i <= MAX_DUMP_ATTEMPTS; i++) {
    const result = await attempt();
    if (result !== INTERRUPTED) return result;
  }
  throw new Errno('EINTR', `dump interrupted ${MAX_DUMP_ATTEMPTS} times in a row (the kernel state kept changing)`);
}

/**
 * Dumps all objects of one kind (`type` e.g. `rt.MessageType.GETLINK`, `header` e.g.
 * `[rt.formatLink({})]`), retrying when the kernel flags the dump as interrupted (NLM_F_DUMP_INTR)
 * or fails it with EINTR.
 */
export function rtnlDump(type: rt.MessageType, header: Uint8Array[]): Promise<rt.Message[]> {
  return rtnl((s) =>
    retryInterrupted(async () => {
      const seq = s.socket.generateSeq();
      try {
        const [msgs] = await s.socket.request(type, header, { flags: FlagsGet.DUMP, seq });
        if (interrupted.delete(seq)) return INTERRUPTED;
        return msgs.map((m) => rt.parseMessage(m.type, m.data));
      } catch (err) {
        interrupted.delete(seq);
        if (toErrno(err).errno === 'EINTR') return INTERRUPTED;
        throw err;
      }
    }),
  );
}
