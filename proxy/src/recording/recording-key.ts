import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const KEY_BYTES = 32;

/**
 * The recordings' HMAC key: 32 raw bytes in keyFile. With `create`, a missing file is made (0600, 'wx' so two
 * proxies starting at once end up with one key). Errors name the option and the file, never the key.
 */
export function loadRecordingKey(keyFile: string, opts: { create: boolean }): Buffer {
  try {
    return checked(keyFile, readFileSync(keyFile));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw keyError(keyFile, e);
    if (!opts.create)
      throw new Error(
        `recordings.keyFile: ${keyFile} does not exist; the proxy creates it when it first records (point --recordings-key-file at the proxy's key)`,
      );
  }
  try {
    mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw keyError(keyFile, e);
  }
  try {
    return checked(keyFile, readFileSync(keyFile));
  } catch (e) {
    throw keyError(keyFile, e);
  }
}

function checked(keyFile: string, key: Buffer): Buffer {
  if (key.length !== KEY_BYTES)
    throw new Error(`recordings.keyFile: ${keyFile} holds ${key.length} bytes, not a ${KEY_BYTES}-byte recording key`);
  return key;
}

function keyError(keyFile: string, e: unknown): Error {
  if (e instanceof Error && e.message.startsWith('recordings.keyFile:')) return e;
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new Error(`recordings.keyFile: cannot read or create ${keyFile} (${code})`);
}
