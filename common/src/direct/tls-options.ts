import type { ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { DirectTarget } from '../contracts/direct-target.js';
import { DirectKvmError } from './errors.js';

/**
 * TLS options for node:https and ws alike, so HTTPS and WSS check the BMC's certificate by the same rule. A pin
 * replaces the connection factory: the socket is handed to the request only after the certificate matched, so not
 * one byte of a request (credentials, cookies) reaches a BMC that shows another certificate.
 */
export interface BmcTlsOptions {
  rejectUnauthorized: boolean;
  ca?: string;
  /** Node's http client calls it as (options, oncreate) and waits for oncreate when it returns nothing. */
  createConnection?: (opts: ClientRequestArgs, cb: (err: Error | null, socket: Duplex) => void) => undefined;
}

/**
 * The rule of `target` (contracts/direct-target.ts): a CA bundle, the system store, a pin, or any certificate. An
 * http:// BMC has no certificate to pin.
 */
export function bmcTlsOptions(
  target: Pick<DirectTarget, 'address' | 'verifyCa' | 'caBundlePem' | 'pinSha256'>,
): BmcTlsOptions {
  if (target.verifyCa) return { rejectUnauthorized: true, ...(target.caBundlePem ? { ca: target.caBundlePem } : {}) };
  const pin = target.pinSha256;
  if (!pin || /^http:/i.test(target.address)) return { rejectUnauthorized: false };
  return {
    rejectUnauthorized: false,
    createConnection: (opts, cb) => {
      const socket = tlsConnect({ ...(opts as ConnectionOptions), rejectUnauthorized: false });
      const onError = (err: Error) => cb(err, socket);
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        const seen = socket.getPeerCertificate().fingerprint256;
        if (seen === pin) return cb(null, socket);
        socket.destroy();
        cb(
          new DirectKvmError(
            'login',
            `the BMC's certificate is not the one seen when the console started (SHA-256 ${seen ?? 'none'})`,
            'certificate',
          ),
          socket,
        );
      });
      return undefined;
    },
  };
}

/** The SHA-256 fingerprint of the certificate `address` shows (for a pin), as Node writes it (AA:BB:...). */
export function peerFingerprint(address: string, timeoutMs: number): Promise<string> {
  const u = new URL(address);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 443),
      servername: /^[\d.]+$|:/.test(u.hostname) ? undefined : u.hostname,
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once('error', (e) => reject(new DirectKvmError('login', `reading the BMC's certificate: ${e.message}`)));
    socket.once('secureConnect', () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      if (fp) resolve(fp);
      else reject(new DirectKvmError('login', 'the BMC showed no certificate'));
    });
  });
}
