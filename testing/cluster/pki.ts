/**
 * @module Throwaway certificates for a TLS etcd, made with `openssl` (through testing/system.ts) in a
 * directory the caller owns and removes: a CA, a server certificate for the given IP addresses (also
 * usable as a client certificate: etcd's gateway dials etcd with it when `--client-cert-auth` is on),
 * a client certificate without a CommonName (etcd's gateway refuses one with a CN when auth is on),
 * and a second, unrelated CA to prove that a wrong CA is refused. P-256 keys,
 * valid one day.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mustRun } from '../system.js';

export interface TestPki {
  /** The CA that signed `serverCert` and `clientCert` (PEM file). */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting it instead of `ca` must fail. */
  otherCa: string;
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<{ crt: string; key: string }> {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await mustRun(['openssl', 'req', '-x509', ...KEY, '-keyout', key, '-out', crt, '-days', '1', '-subj', `/CN=${name}`]);
  return { crt, key };
}

async function makeSigned(dir: string, name: string, subject: string, ca: { crt: string; key: string }, extensions: string): Promise<{ crt: string; key: string }> {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await mustRun(['openssl', 'req', ...KEY, '-keyout', key, '-out', csr, '-subj', subject]);
  await mustRun(['openssl', 'x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-CAcreateserial', '-out', crt, '-days', '1', '-extfile', ext]);
  return { crt, key };
}

/** Makes the certificates in `dir` (which must exist); the server's names are `ips`. */
export async function makeTestPki(dir: string, ips: readonly string[]): Promise<TestPki> {
  const ca = await makeCa(dir, 'tstest-ca');
  const other = await makeCa(dir, 'tstest-other-ca');
  const san = `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}\n`;
  const server = await makeSigned(dir, 'tstest-etcd', '/CN=tstest-etcd', ca, `${san}extendedKeyUsage=serverAuth,clientAuth\n`);
  // No CommonName: with auth on, etcd 3.4's JSON gateway refuses client certificates that have one.
  const client = await makeSigned(dir, 'tstest-client', '/O=tstest-client', ca, 'extendedKeyUsage=clientAuth\n');
  return { ca: ca.crt, serverCert: server.crt, serverKey: server.key, clientCert: client.crt, clientKey: client.key, otherCa: other.crt };
}
