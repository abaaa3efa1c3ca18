import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface TlsMaterial { cert: string; key: string; caFile?: string }

const serverExtensions = [
  { name: 'basicConstraints' as const, cA: false },
  { name: 'keyUsage' as const, digitalSignature: true, keyEncipherment: true },
  { name: 'extKeyUsage' as const, serverAuth: true },
  { name: 'subjectAltName' as const, altNames: [{ type: 2 as const, value: 'localhost' }, { type: 7 as const, ip: '127.0.0.1' }, { type: 7 as const, ip: '::1' }, { type: 7 as const, ip: '10.0.2.2' }] },
];

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  const now = Date.now();
  return { notBeforeDate: new Date(now - 3_600_000), notAfterDate: new Date(now + 365 * 86_400_000) };
}

/** A fresh self-signed server certificate (as a factory-fresh BMC has). */
export async function selfSignedTls(cn: string): Promise<TlsMaterial> {
  const p = await selfsigned.generate([{ name: 'commonName', value: cn }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: serverExtensions, ...validity() });
  return { cert: p.cert, key: p.private };
}

/**
 * A CA in `dir` (ca.pem + ca-key.pem, reused when present) and a server certificate signed by it, for custom-CA
 * tests: clients trust `dir/ca.pem` instead of ignoring certificate errors.
 */
export async function caSignedTls(dir: string, cn: string): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  if (!existsSync(caFile) || !existsSync(caKeyFile)) {
    const ca = await selfsigned.generate([{ name: 'commonName', value: 'bmc-emulator test CA' }], {
      keyType: 'ec', curve: 'P-256', algorithm: 'sha256', ...validity(),
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
    });
    writeFileSync(caKeyFile, ca.private, { mode: 0o600 });
    writeFileSync(caFile, ca.cert);
  }
  const ca = { cert: readFileSync(caFile, 'utf8'), key: readFileSync(caKeyFile, 'utf8') };
  const p = await selfsigned.generate([{ name: 'commonName', value: cn }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: serverExtensions, ca, ...validity() });
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
