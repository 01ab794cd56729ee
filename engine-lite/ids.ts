/**
 * @module IDs and names: 64-hex IDs as docker makes them (containers, networks, endpoints, volume
 * mount IDs), their 12-character short form, docker's name rule, and random container names.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

/** A random 64-hex ID. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** The 12-character short form docker prints. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Checks a container, network or volume name against docker's rule.
 * @throws InvalidArgumentError naming the kind.
 */
export function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name)) throw new InvalidArgumentError(`Invalid ${kind} name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
}

const ADJECTIVES = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nimble', 'proud', 'quiet', 'swift', 'tender', 'vivid', 'witty', 'zealous'];
const NOUNS = ['ada', 'babbage', 'curie', 'darwin', 'euler', 'fermi', 'gauss', 'hopper', 'kepler', 'lovelace', 'noether', 'pascal', 'ritchie', 'shannon', 'turing', 'volta'];

/** A docker-style random name (`adjective_scientist`), with a number when `taken` already has it. */
export function randomName(taken: ReadonlySet<string>): string {
  for (let i = 0; ; i++) {
    const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
    const name = i < 10 ? base : `${base}${randomInt(1000)}`;
    if (!taken.has(name)) return name;
  }
}
