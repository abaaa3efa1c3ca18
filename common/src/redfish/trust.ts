import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { RedfishError } from './error.js';

/** TLS options for one BMC, from Ironic's `verify_ca` (a bool or a CA bundle path). */
export interface TrustOptions {
  ca?: string | string[];
  rejectUnauthorized: boolean;
}

/** Where Debian (and most distributions, via update-ca-certificates) keep the system trust store. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

/**
 * Debian's directory for an operator's own CAs: a file mounted (or copied by a derived image) here is trusted with
 * verify_ca=true by the supervisor's Redfish client and by Chromium (browser-trust.ts), with or without
 * update-ca-certificates having run.
 */
export const LOCAL_CA_DIR = '/usr/local/share/ca-certificates';

/** The *.crt and *.pem files under `dir` (one level of subdirectories, as update-ca-certificates reads), sorted. */
export function localCaFiles(dir: string = LOCAL_CA_DIR): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return; // no such directory: no local CAs
    }
    for (const e of entries) {
      const f = join(d, e.name);
      if (e.isDirectory() && depth < 1) walk(f, depth + 1);
      else if (!e.isDirectory() && /\.(crt|pem)$/i.test(e.name)) out.push(f);
    }
  };
  walk(dir, 0);
  return out.sort();
}

/**
 * verify_ca=true: the system trust store (Node's built-in list alone would ignore CAs an operator added with
 * update-ca-certificates; SSL_CERT_FILE overrides the path) and the CAs in LOCAL_CA_DIR. false: no verification at
 * all (the BMC's self-signed certificate is accepted, as Ironic does). A path: that bundle only.
 */
export function trustOptions(verifyCa: boolean | string, url: string, localCaDir: string = LOCAL_CA_DIR): TrustOptions {
  if (verifyCa === false) return { rejectUnauthorized: false };
  if (verifyCa === true) {
    const file = process.env.SSL_CERT_FILE || SYSTEM_BUNDLES.find((f) => existsSync(f));
    const extra = [file, ...localCaFiles(localCaDir)]
      .filter((f): f is string => !!f)
      .map((f) => readPem(f, url))
      .filter(Boolean);
    return { ca: [...rootCertificates, ...extra], rejectUnauthorized: true };
  }
  const bundle = readPem(verifyCa, url);
  if (!bundle.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RedfishError('tls', url, `CA bundle ${verifyCa} (verify_ca) holds no PEM certificate`);
  }
  return { ca: bundle, rejectUnauthorized: true };
}

function readPem(path: string, url: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new RedfishError('tls', url, `cannot read CA bundle ${path} (verify_ca): ${code}`, { cause: err });
  }
}
