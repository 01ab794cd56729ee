/**
 * @module One pool's addresses, in memory and pure: which are held, which are reserved (IPv4 network and
 * broadcast, the IPv6 subnet-router anycast), where serial allocation continues, and how many are free.
 * Persistence and locking are the allocator's job; this module never does I/O.
 */
import { ADDRESS_BITS, formatIp, type Family } from '../../common/addr/parse.js';
import { InvalidRequestError } from '../../common/protocol/errors.js';
import { AddressInUseError, PoolExhaustedError } from '../errors.js';
import { IntervalSet } from './interval-set.js';
import { containsAddress, formatPrefix, prefixSize, type Prefix } from '../../common/addr/prefix.js';

/** What a pool is: its ID, space, subnet and optional sub-pool (`--ip-range`). */
export interface PoolSpec {
  id: string;
  space: string;
  subnet: Prefix;
  /** Where next-free addresses come from; the whole subnet when absent. */
  range?: Prefix;
}

/** How next-free picks: the lowest free address, or the first free one after the last handed out. */
export type NextMode = 'lowest' | 'serial';

/** Counts shown by `tsnet ipam ls`. */
export interface PoolUsage {
  /** Usable addresses of the subnet (reserved ones excluded). */
  size: bigint;
  /** Addresses held, anywhere in the subnet. */
  used: bigint;
  /** Addresses next-free can still hand out (in the range). */
  free: bigint;
}

/** One pool's held addresses and serial position; see the module comment. Not thread-safe: the allocator locks. */
export class AddressPool {
  readonly spec: PoolSpec;
  readonly #used: IntervalSet;
  /** First and last address next-free may hand out: the range minus reserved addresses. */
  readonly #lo: bigint;
  readonly #hi: bigint;
  #cursor: bigint | undefined;

  /** `cursor` is the last address next-free handed out (restored from the store), if any. */
  constructor(spec: PoolSpec, cursor?: bigint) {
    this.spec = spec;
    this.#used = new IntervalSet(spec.subnet.first, spec.subnet.last);
    const range = spec.range ?? spec.subnet;
    let lo = range.first;
    let hi = range.last;
    while (lo <= hi && this.reservation(lo)) lo++;
    while (hi >= lo && this.reservation(hi)) hi--;
    [this.#lo, this.#hi] = [lo, hi];
    this.#cursor = cursor;
  }

  get family(): Family {
    return this.spec.subnet.family;
  }

  /** The last address next-free handed out, for persisting the serial position. */
  get cursor(): bigint | undefined {
    return this.#cursor;
  }

  /** How many runs the held addresses take in memory (see IntervalSet). */
  get runCount(): number {
    return this.#used.runCount;
  }

  /**
   * Why `addr` can never be handed out: the IPv4 network or broadcast address (except in a /31 or /32,
   * RFC 3021), or the IPv6 subnet-router anycast address (except in a /127 or /128, RFC 6164).
   */
  reservation(addr: bigint): 'network address' | 'broadcast address' | undefined {
    const { subnet } = this.spec;
    if (ADDRESS_BITS[subnet.family] - subnet.len < 2) return undefined;
    if (addr === subnet.first) return 'network address';
    if (subnet.family === 4 && addr === subnet.last) return 'broadcast address';
    return undefined;
  }

  /** Whether `addr` is held. */
  has(addr: bigint): boolean {
    return this.#used.has(addr);
  }

  /**
   * Holds a specific address, anywhere in the subnet (even outside the range, as Docker allows for
   * `--aux-address` and `--ip`). Throws InvalidRequestError for an address outside the subnet or
   * reserved, and AddressInUseError when it is held.
   */
  claim(family: Family, addr: bigint): void {
    this.check(family, addr);
    if (!this.#used.add(addr)) throw new AddressInUseError(`address ${formatIp(family, addr)} in pool ${this.spec.id}: Address already in use`);
  }

  /** Throws InvalidRequestError when `addr` could never be held: outside the subnet, or reserved. */
  check(family: Family, addr: bigint): void {
    const text = formatIp(family, addr);
    if (!containsAddress(this.spec.subnet, family, addr)) {
      throw new InvalidRequestError(`address ${text} is not in pool ${this.spec.id} (subnet ${formatPrefix(this.spec.subnet)})`);
    }
    const reserved = this.reservation(addr);
    if (reserved) throw new InvalidRequestError(`address ${text} is the ${reserved} of pool ${this.spec.id} and cannot be allocated`);
  }

  /** Holds and returns the next free address of the range. Throws PoolExhaustedError when none is free. */
  claimNext(mode: NextMode): bigint {
    let addr: bigint | undefined;
    if (mode === 'serial' && this.#cursor !== undefined && this.#cursor >= this.#lo && this.#cursor < this.#hi) {
      addr = this.#used.firstAbsent(this.#cursor + 1n, this.#hi) ?? this.#used.firstAbsent(this.#lo, this.#cursor);
    } else {
      addr = this.#used.firstAbsent(this.#lo, this.#hi);
    }
    if (addr === undefined) throw new PoolExhaustedError(`pool ${this.spec.id}: no available addresses on this pool`);
    this.#used.add(addr);
    if (mode === 'serial') this.#cursor = addr;
    return addr;
  }

  /** Holds `addr` as read back from the store, without checks. */
  restore(addr: bigint): void {
    this.#used.add(addr);
  }

  /** Undoes a claim whose write failed: frees `addr` and puts the serial position back to `cursor`. */
  unclaim(addr: bigint, cursor: bigint | undefined): void {
    this.#used.delete(addr);
    this.#cursor = cursor;
  }

  /** Frees `addr`; returns false when it was not held (idempotent). */
  release(addr: bigint): boolean {
    return this.#used.delete(addr);
  }

  /** Usable, held and free counts. */
  usage(): PoolUsage {
    const { subnet } = this.spec;
    let size = prefixSize(subnet);
    if (this.reservation(subnet.first)) size--;
    if (this.reservation(subnet.last)) size--;
    const rangeSize = this.#hi >= this.#lo ? this.#hi - this.#lo + 1n : 0n;
    return { size, used: this.#used.size, free: rangeSize - this.#used.countIn(this.#lo, this.#hi) };
  }
}
