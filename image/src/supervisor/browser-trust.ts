/**
 * How Chromium trusts a BMC's certificate, from APP_INFO verify_ca (Ironic's meaning):
 *   false  trust this BMC's certificate only: pin the SHA-256 of its public key (SPKI)
 *   path   trust that CA bundle: import it into the browser user's NSS database
 *   true   the system trust store
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConsoleFailure } from '../vendor-script.js';

const run = promisify(execFile);

/** The SPKI pin Chromium's --ignore-certificate-errors-spki-list wants: base64 of SHA-256 of the DER SPKI. */
export function spkiPin(certDer: Buffer): string {
  const spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Fetches the certificate a TLS server presents (no verification: we only want to pin it). */
export function fetchPeerCertificate(host: string, port: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
    const sock = connect({ host, port, rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = sock.getPeerCertificate();
      sock.end();
      if (!cert?.raw) reject(new Error('the server sent no certificate'));
      else resolve(cert.raw);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Splits a PEM bundle into its certificates (certutil -A imports only the first of a file). */
export function splitPemBundle(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export interface BrowserTrustOptions {
  /** BMC origin, e.g. https://10.0.0.5 or https://bmc:8443. */
  origin: string;
  verifyCa: boolean | string;
  /** Home directory of the browser user: Chromium on Linux reads $HOME/.pki/nssdb. */
  home: string;
}

/** Prepares trust for the BMC and returns the Chromium flags it needs. Throws ConsoleFailure when it cannot. */
export async function browserTrust(o: BrowserTrustOptions): Promise<string[]> {
  const url = new URL(o.origin);
  if (url.protocol !== 'https:' || o.verifyCa === true) return [];
  if (o.verifyCa === false) {
    const port = Number(url.port || 443);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let der: Buffer;
    try {
      der = await fetchPeerCertificate(host, port);
    } catch (err) {
      throw new ConsoleFailure(
        `Cannot fetch the BMC's TLS certificate from ${host}:${port}: ${(err as Error).message}`,
        'Check that the BMC address in APP_INFO is right and that the BMC is reachable from the console.',
        'unreachable',
      );
    }
    return [`--ignore-certificate-errors-spki-list=${spkiPin(der)}`];
  }
  let pem: string;
  try {
    pem = readFileSync(o.verifyCa, 'utf8');
  } catch (err) {
    throw new ConsoleFailure(
      `Cannot read the CA bundle ${o.verifyCa} (APP_INFO verify_ca): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'Mount the CA bundle into the console container at that path, or set verify_ca to true or false.',
      'config',
    );
  }
  const certs = splitPemBundle(pem);
  if (!certs.length)
    throw new ConsoleFailure(`The CA bundle ${o.verifyCa} (APP_INFO verify_ca) holds no PEM certificate`, 'verify_ca must name a PEM file with one or more CA certificates.', 'config');
  const db = join(o.home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true, mode: 0o700 });
  try {
    await run('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']).catch(() => undefined); // exists already: fine
    for (const [i, cert] of certs.entries()) {
      const file = join(db, `bmc-ca-${i}.pem`);
      writeFileSync(file, cert);
      await run('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', `bmc-console-ca-${i}`, '-i', file]);
    }
  } catch (err) {
    throw new ConsoleFailure(`Cannot import the CA bundle ${o.verifyCa} into the browser: ${(err as Error).message.split('\n')[0]}`, 'Check that certutil (libnss3-tools) is installed and the bundle is valid PEM.', 'internal');
  }
  return [];
}
