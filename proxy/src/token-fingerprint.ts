import { createHash } from 'node:crypto';

/** Names a token in audit lines without revealing it: the first 12 hex characters of its SHA-256. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}
