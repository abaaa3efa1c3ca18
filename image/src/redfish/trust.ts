import { existsSync, readFileSync } from 'node:fs';
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
 * verify_ca=true: the system trust store (Node's built-in list alone would ignore CAs an operator added with
 * update-ca-certificates; SSL_CERT_FILE overrides the path). false: no verification at all (the BMC's
 * self-signed certificate is accepted, as Ironic does). A path: that bundle only.
 */
export function trustOptions(verifyCa: boolean | string, url: string): TrustOptions {
  if (verifyCa === false) return { rejectUnauthorized: false };
  if (verifyCa === true) {
    const file = process.env.SSL_CERT_FILE || SYSTEM_BUNDLES.find((f) => existsSync(f));
    const system = file ? readPem(file, url) : '';
    return { ca: system ? [...rootCertificates, system] : [...rootCertificates], rejectUnauthorized: true };
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
