/**
 * @module How tsnet proves itself to etcd and checks etcd: TLS (`etcds://`, a CA to trust, a client
 * certificate and key) and etcd's user/password auth. {@link readEtcdSecurity} reads the files named by
 * the `serve` flags once, at start (a restart picks up new certificates), checks that they go together
 * and parse, and fails naming the flag and the file; the password is never part of a message.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

/** PEM texts for an `https://` etcd; absent fields: the system's CAs, no client certificate. */
export interface EtcdTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** etcd's user/password auth: a token is asked for with these and sent on every request. */
export interface EtcdAuth {
  user: string;
  password: string;
}

export interface EtcdSecurity {
  tls?: EtcdTls;
  auth?: EtcdAuth;
}

/** The security flags of `serve`, as given (file names, not contents). */
export interface EtcdSecurityFlags {
  /** Whether `--cluster-store` is `etcds://` (TLS). */
  https: boolean;
  clusterCa?: string | undefined;
  clusterCert?: string | undefined;
  clusterKey?: string | undefined;
  clusterUser?: string | undefined;
  clusterPasswordFile?: string | undefined;
  /** `TSNET_CLUSTER_PASSWORD` (the environment only: never a flag, so never on a command line). */
  password?: string | undefined;
}

/**
 * Reads and checks the files the flags name.
 * @throws Error naming the flag (and file) that is missing, unreadable, not PEM, or given without what it needs.
 */
export async function readEtcdSecurity(f: EtcdSecurityFlags): Promise<EtcdSecurity> {
  const tlsFlags = [f.clusterCa && '--cluster-ca', f.clusterCert && '--cluster-cert', f.clusterKey && '--cluster-key'].filter(Boolean);
  if (!f.https && tlsFlags.length > 0) throw new Error(`${tlsFlags.join(', ')} ${tlsFlags.length > 1 ? 'need' : 'needs'} a TLS cluster store: write it etcds://host:port (etcd's --cert-file/--key-file)`);
  if ((f.clusterCert === undefined) !== (f.clusterKey === undefined)) {
    throw new Error(f.clusterCert === undefined ? '--cluster-key needs --cluster-cert (the client certificate it belongs to)' : '--cluster-cert needs --cluster-key (the private key of the client certificate)');
  }
  if (f.password !== undefined && f.clusterPasswordFile !== undefined) throw new Error('give the etcd password once: TSNET_CLUSTER_PASSWORD or --cluster-password-file, not both');
  if (f.clusterUser === undefined && (f.password !== undefined || f.clusterPasswordFile !== undefined)) {
    throw new Error(`${f.password !== undefined ? 'TSNET_CLUSTER_PASSWORD' : '--cluster-password-file'} needs --cluster-user (the etcd user it is the password of)`);
  }
  if (f.clusterUser !== undefined && f.password === undefined && f.clusterPasswordFile === undefined) {
    throw new Error('--cluster-user needs a password: set TSNET_CLUSTER_PASSWORD or give --cluster-password-file');
  }

  const out: EtcdSecurity = {};
  if (f.https) {
    const tls: EtcdTls = {};
    if (f.clusterCa !== undefined) tls.ca = await pem('--cluster-ca', f.clusterCa);
    if (f.clusterCert !== undefined && f.clusterKey !== undefined) {
      tls.cert = await pem('--cluster-cert', f.clusterCert);
      tls.key = await pem('--cluster-key', f.clusterKey);
      try {
        createSecureContext({ cert: tls.cert, key: tls.key });
      } catch (err) {
        throw new Error(`--cluster-cert ${f.clusterCert} and --cluster-key ${f.clusterKey} do not go together: ${(err as Error).message}`);
      }
    }
    if (tls.ca !== undefined) {
      try {
        createSecureContext({ ca: tls.ca });
      } catch (err) {
        throw new Error(`--cluster-ca ${f.clusterCa}: not a CA certificate: ${(err as Error).message}`);
      }
    }
    out.tls = tls;
  }
  if (f.clusterUser !== undefined) {
    if (f.clusterUser === '') throw new Error('--cluster-user is empty');
    const password = f.password ?? (await readText('--cluster-password-file', f.clusterPasswordFile!)).replace(/\r?\n$/, '');
    if (password === '') throw new Error(`the etcd password (${f.password !== undefined ? 'TSNET_CLUSTER_PASSWORD' : `--cluster-password-file ${f.clusterPasswordFile}`}) is empty`);
    out.auth = { user: f.clusterUser, password };
  }
  return out;
}

async function readText(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

async function pem(flag: string, file: string): Promise<string> {
  const text = await readText(flag, file);
  if (!text.includes('-----BEGIN ')) throw new Error(`${flag} ${file}: not a PEM file (no "-----BEGIN" line)`);
  return text;
}
