/**
 * How Chromium trusts a BMC's certificate, from APP_INFO verify_ca (Ironic's meaning):
 *   false  trust this BMC's certificates only: pin the SHA-256 of the public key (SPKI) of each TLS port its KVM
 *          uses (the web port, and a viewer port such as XCC's that Redfish names as KVMIP)
 *   path   trust that CA bundle: import it into the browser user's NSS database
 *   true   the system trust store, plus the operator's own CAs in LOCAL_CA_DIR (imported into the NSS database)
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRedfishClient, type RedfishAuthType } from '@bmc-console/common/redfish/client';
import { isRedfishError } from '@bmc-console/common/redfish/error';
import { odataId, memberIds, type RedfishSource } from '@bmc-console/common/redfish/source';
import { localCaFiles, LOCAL_CA_DIR } from '@bmc-console/common/redfish/trust';
import { ConsoleFailure } from '../vendor-script.js';
import { browserArgsOf, type BrowserArgs } from './console-app.js';

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

/** A TLS endpoint of the BMC besides its web origin. */
export interface KvmEndpoint {
  host: string;
  port: number;
}

/**
 * The BMC's KVM port from Redfish (ManagerNetworkProtocol KVMIP of its managers), on the BMC's host: XCC's viewer
 * socket lives there (3900 by default). Other vendors name a port their HTML5 KVM does not use (iLO 17990, iDRAC
 * 5900); pinning it is harmless, and a port that does not speak TLS is skipped by the caller.
 */
export async function redfishKvmEndpoints(
  redfish: RedfishSource,
  host: string,
  webPort: number,
): Promise<KvmEndpoint[]> {
  const managers = memberIds((await redfish.get('Managers')).Members);
  const ports = new Set<number>();
  for (const path of managers) {
    const manager = await redfish.get(path);
    const np = odataId(manager.NetworkProtocol);
    if (!np) continue;
    const kvm = (await redfish.get(np)).KVMIP as { Port?: unknown; ProtocolEnabled?: unknown } | undefined;
    const port = kvm?.Port;
    if (
      kvm?.ProtocolEnabled === false ||
      typeof port !== 'number' ||
      !Number.isInteger(port) ||
      port < 1 ||
      port > 65535 ||
      port === webPort
    )
      continue;
    ports.add(port);
  }
  return [...ports].map((port) => ({ host, port }));
}

/**
 * redfishKvmEndpoints over a Redfish client of its own, for the pins a browser needs before it starts. Basic auth
 * first (auth_type auto), so that a console nobody watches yet holds no BMC session; a session only when the BMC
 * wants one, logged out at once.
 */
export async function lookupKvmEndpoints(
  bmc: { origin: string; rootPrefix?: string; username?: string; password?: string },
  auth: RedfishAuthType,
): Promise<KvmEndpoint[]> {
  const url = new URL(bmc.origin);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const webPort = Number(url.port || 443);
  const once = async (mode: RedfishAuthType) => {
    const redfish = createRedfishClient({ ...bmc, verifyCa: false }, { auth: mode, timeoutMs: 5000 });
    try {
      return await redfishKvmEndpoints(redfish, host, webPort);
    } finally {
      await redfish.logout();
      redfish.close();
    }
  };
  if (auth !== 'auto') return once(auth);
  try {
    return await once('basic');
  } catch (err) {
    if (!isRedfishError(err, 'auth')) throw err;
    return once('auto');
  }
}

export interface BrowserTrustOptions {
  /** BMC origin, e.g. https://10.0.0.5 or https://bmc:8443. */
  origin: string;
  verifyCa: boolean | string;
  /** Home directory of the browser user: Chromium on Linux reads $HOME/.pki/nssdb. */
  home: string;
  /**
   * verify_ca false: the BMC's other TLS endpoints its KVM may use (redfishKvmEndpoints). A lookup that fails
   * leaves only the web port pinned; a pin is needed before Chromium starts, since the flag cannot change later.
   */
  kvmEndpoints?: () => Promise<KvmEndpoint[]>;
  /** verify_ca true: the directory of the operator's own CAs (default LOCAL_CA_DIR). */
  localCaDir?: string;
  /** Told what could not be pinned or imported (never fatal). */
  warn?: (msg: string, detail: Record<string, unknown>) => void;
}

// A KVM port that does not answer soon is one the KVM will not use either: the web port keeps its 10 s.
const EXTRA_ENDPOINT_TIMEOUT_MS = 3000;
// The lookup delays the browser's start: a slow Redfish costs at most this, and the web port stays pinned.
const KVM_LOOKUP_DEADLINE_MS = 8000;

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The pin of one more KVM port, or undefined (with a warning) when it does not speak TLS. */
async function endpointPin(
  e: KvmEndpoint,
  warn: (msg: string, detail: Record<string, unknown>) => void,
): Promise<string | undefined> {
  try {
    return spkiPin(await fetchPeerCertificate(e.host, e.port, EXTRA_ENDPOINT_TIMEOUT_MS));
  } catch (err) {
    warn('the BMC KVM port gave no TLS certificate; not pinned', {
      host: e.host,
      port: e.port,
      err: (err as Error).message,
    });
    return undefined;
  }
}

/** The Chromium flag that pins these SPKIs. */
function pinFlag(pins: string[]): string[] {
  return [`--ignore-certificate-errors-spki-list=${pins.join(',')}`];
}

/**
 * verify_ca false on an https BMC: `first` pins the web port alone, as soon as its certificate is fetched; `all` adds
 * every other TLS port the KVM uses, which Redfish names (they are looked up at the same time). Both reject with a
 * ConsoleFailure when the web port's certificate cannot be fetched. What the lookup could not pin is told once the
 * web port answered (a BMC that is down fails on the web port alone).
 */
function pinFlags(o: BrowserTrustOptions, url: URL): BrowserArgs {
  const port = Number(url.port || 443);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const warnings: [string, Record<string, unknown>][] = [];
  const warn = (msg: string, detail: Record<string, unknown>): void => void warnings.push([msg, detail]);
  const extraPins = o.kvmEndpoints
    ? withDeadline(o.kvmEndpoints(), KVM_LOOKUP_DEADLINE_MS)
        .catch((err: unknown) => {
          warn('cannot look up the BMC KVM port in Redfish; only the web port is pinned', {
            err: (err as Error).message,
          });
          return [];
        })
        .then((endpoints) => Promise.all(endpoints.map((e) => endpointPin(e, warn))))
    : Promise.resolve([]);
  const webPin = fetchPeerCertificate(host, port).then(spkiPin, (err: unknown) => {
    throw new ConsoleFailure(
      `Cannot fetch the BMC's TLS certificate from ${host}:${port}: ${(err as Error).message}`,
      'Check that the BMC address in APP_INFO is right and that the BMC is reachable from the console.',
      'unreachable',
    );
  });
  const first = webPin.then((pin) => pinFlag([pin]));
  const all = webPin.then(async (pin) => {
    const pins = [pin];
    for (const extra of await extraPins) if (extra && !pins.includes(extra)) pins.push(extra);
    for (const [msg, detail] of warnings) o.warn?.(msg, detail);
    return pinFlag(pins);
  });
  // Both fail alike, and a caller told by one need not ask the other: neither is left an unhandled rejection.
  first.catch(() => undefined);
  all.catch(() => undefined);
  return { first, all };
}

/**
 * The Chromium flags for the BMC's certificates in two steps (see BrowserArgs in console-app.ts): with verify_ca
 * false the web port's pin comes `first`, every pin with `all`; otherwise both are the same.
 */
export function browserTrustSteps(o: BrowserTrustOptions): BrowserArgs {
  const url = new URL(o.origin);
  return o.verifyCa === false && url.protocol === 'https:' ? pinFlags(o, url) : browserArgsOf(browserTrust(o));
}

/** Prepares trust for the BMC and returns the Chromium flags it needs. Throws ConsoleFailure when it cannot. */
export async function browserTrust(o: BrowserTrustOptions): Promise<string[]> {
  const url = new URL(o.origin);
  if (url.protocol !== 'https:') return [];
  if (o.verifyCa === true) {
    const files = localCaFiles(o.localCaDir ?? LOCAL_CA_DIR);
    const certs = files.flatMap((f) => {
      try {
        return splitPemBundle(readFileSync(f, 'utf8'));
      } catch (err) {
        o.warn?.('cannot read a local CA file', { file: f, err: (err as NodeJS.ErrnoException).code ?? String(err) });
        return [];
      }
    });
    if (certs.length) await importCas(o.home, certs, o.localCaDir ?? LOCAL_CA_DIR, 'bmc-console-local-ca');
    return [];
  }
  if (o.verifyCa === false) return pinFlags(o, url).all;
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
    throw new ConsoleFailure(
      `The CA bundle ${o.verifyCa} (APP_INFO verify_ca) holds no PEM certificate`,
      'verify_ca must name a PEM file with one or more CA certificates.',
      'config',
    );
  await importCas(o.home, certs, o.verifyCa, 'bmc-console-ca');
  return [];
}

/**
 * Imports CA certificates into the NSS database Chromium reads ($HOME/.pki/nssdb) as trusted for TLS servers. Each
 * source has its own nicknames: NSS refuses a nickname that another certificate holds already.
 */
async function importCas(home: string, certs: string[], source: string, nickname: string): Promise<void> {
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true, mode: 0o700 });
  try {
    await run('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']).catch(() => undefined); // exists already: fine
    for (const [i, cert] of certs.entries()) {
      const file = join(db, `${nickname}-${i}.pem`);
      writeFileSync(file, cert);
      await run('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', `${nickname}-${i}`, '-i', file]);
    }
  } catch (err) {
    throw new ConsoleFailure(
      `Cannot import the CA bundle ${source} into the browser: ${(err as Error).message.split('\n')[0]}`,
      'Check that certutil (libnss3-tools) is installed and the bundle is valid PEM.',
      'internal',
    );
  }
}
