/** The API key a TCP listener requires: created once in a 0600 file, compared in constant time. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from './config.js';

const KEY_RE = /^[A-Za-z0-9_-]{43,512}$/;

/** Reads the key from `file`, creating it (32 random bytes, base64url, mode 0600) when it does not exist yet. */
export async function ensureApiKey(file: string): Promise<string> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    const fh = await open(file, 'wx', 0o600);
    try {
      const key = randomBytes(32).toString('base64url');
      await fh.writeFile(`${key}\n`);
      return key;
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new ConfigError(
        `api_key_file: cannot create ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
  }
  return readApiKey(file);
}

/** Reads an existing key file; refuses one that any user may read (a group may, to share it with the proxy). */
export async function readApiKey(file: string): Promise<string> {
  let text: string;
  try {
    if (((await stat(file)).mode & 0o007) !== 0)
      throw new ConfigError(
        `api_key_file: ${file} must not be accessible to other users (chmod 600, or 640 to share it with the proxy's group)`,
      );
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      `api_key_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const key = text.trim();
  if (!KEY_RE.test(key))
    throw new ConfigError(`api_key_file: ${file} does not hold an API key (43 or more base64url characters)`);
  return key;
}

/** Whether an Authorization header carries `Bearer <key>`; hashing first makes the comparison length-independent. */
export function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  const want = createHash('sha256').update(key).digest();
  return timingSafeEqual(given, want) && m !== null;
}
