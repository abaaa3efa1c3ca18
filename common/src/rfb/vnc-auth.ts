import { createCipheriv } from 'node:crypto';
import { RfbError } from './errors.js';

/** VNC's DES key: the password's first 8 bytes (zero padded), each byte bit-reversed. */
function vncKey(password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = key[i] ?? 0;
    let r = 0;
    for (let bit = 0; bit < 8; bit++) {
      r = (r << 1) | (b & 1);
      b >>= 1;
    }
    key[i] = r;
  }
  return key;
}

/**
 * The 16-byte response to a VNC authentication challenge (DES-ECB of the challenge).
 * Node 20's OpenSSL 3 refuses single DES, so this uses two-key triple DES with K||K, which equals DES(K).
 */
export function vncAuthResponse(challenge: Buffer, password: string): Buffer {
  if (challenge.length !== 16) throw new RfbError(`VNC auth challenge must be 16 bytes, got ${challenge.length}`);
  const key = vncKey(password);
  const cipher = createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(challenge), cipher.final()]);
}
