import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
  caFile?: string;
}

type AltName = { type: 2; value: string } | { type: 7; ip: string };

/** Server certificate extensions: loopback names plus `hosts`, the addresses clients use (the listen address). */
function serverExtensions(hosts: readonly string[]) {
  const altNames: AltName[] = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ];
  for (const h of hosts) {
    const host = h.replace(/^\[|\]$/g, '');
    if (!host || host === '0.0.0.0' || host === '::' || altNames.some((a) => (a.type === 7 ? a.ip : a.value) === host))
      continue;
    altNames.push(isIP(host) ? { type: 7, ip: host } : { type: 2, value: host });
  }
  return [
    { name: 'basicConstraints' as const, cA: false },
    { name: 'keyUsage' as const, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage' as const, serverAuth: true },
    { name: 'subjectAltName' as const, altNames },
  ];
}

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  const now = Date.now();
  return { notBeforeDate: new Date(now - 3_600_000), notAfterDate: new Date(now + 365 * 86_400_000) };
}

/** A fresh self-signed server certificate (as a factory-fresh BMC has), valid for loopback and `hosts`. */
export async function selfSignedTls(cn: string, hosts: readonly string[] = []): Promise<TlsMaterial> {
  const p = await selfsigned.generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: serverExtensions(hosts),
    ...validity(),
  });
  return { cert: p.cert, key: p.private };
}

/**
 * A CA in `dir` (ca.pem + ca-key.pem, reused when present) and a server certificate signed by it, for custom-CA
 * tests: clients trust `dir/ca.pem` instead of ignoring certificate errors. Valid for loopback and `hosts`.
 */
export async function caSignedTls(dir: string, cn: string, hosts: readonly string[] = []): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  if (!existsSync(caFile) || !existsSync(caKeyFile)) {
    const ca = await selfsigned.generate([{ name: 'commonName', value: 'bmc-emulator test CA' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ...validity(),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    writeFileSync(caKeyFile, ca.private, { mode: 0o600 });
    writeFileSync(caFile, ca.cert);
  }
  const ca = { cert: readFileSync(caFile, 'utf8'), key: readFileSync(caKeyFile, 'utf8') };
  const p = await selfsigned.generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: serverExtensions(hosts),
    ca,
    ...validity(),
  });
  writeFileSync(join(dir, `${cn}.pem`), p.cert);
  return { cert: p.cert, key: p.private, caFile };
}

export function fileTls(certFile: string, keyFile: string): TlsMaterial {
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new Error(`${what}: cannot read ${f}: ${(e as Error).message}`);
    }
  };
  return { cert: read(certFile, 'cert'), key: read(keyFile, 'key') };
}
