import { ByteReader } from '../rfb/byte-reader.js';
import { RfbError } from '../rfb/errors.js';
import { negotiateSecurity, readServerInit, type ServerInit } from '../rfb/handshake.js';
import { WebSocket } from 'ws';
import type { KvmSocketSpec } from './bmc-login.js';
import { DirectKvmError } from './errors.js';
import type { BmcTlsOptions } from './tls-options.js';

export interface BmcRfbSocket {
  ws: WebSocket;
  init: ServerInit;
  /** Bytes the BMC sent after ServerInit that arrived with the handshake (e.g. iDRAC's 247 164). */
  early: Buffer;
}

function openSocket(spec: KvmSocketSpec, tls: BmcTlsOptions, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // ws hands createConnection to Node's http client, which takes the callback form a pin uses (tls-options.ts);
    // ws's types know only net.connect's.
    const ws = new WebSocket(spec.url, spec.protocols, {
      ...(tls as Omit<BmcTlsOptions, 'createConnection'>),
      headers: spec.headers,
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    ws.binaryType = 'nodebuffer';
    ws.once('unexpected-response', (_req, res) => {
      reject(new DirectKvmError('kvm', `the BMC refused the console socket (HTTP ${res.statusCode})`));
      ws.terminate();
    });
    ws.once('error', (e) => reject(new DirectKvmError('kvm', `console socket: ${e.message}`)));
    ws.once('open', () => resolve(ws));
  });
}

/** iDRAC's preamble: the BMC sends f7 b3, the viewer answers 247 179, VCSID2 as 24 ASCII bytes, 8 zero bytes. */
async function idracPreamble(reader: ByteReader, ws: WebSocket, secret: string): Promise<void> {
  const c = await reader.read(2);
  if (c[0] !== 0xf7 || c[1] !== 0xb3)
    throw new DirectKvmError('kvm', `unexpected iDRAC console preamble ${c.toString('hex')} (expected f7b3)`);
  const key = Buffer.alloc(24);
  key.write(secret.slice(0, 24), 'latin1');
  ws.send(Buffer.concat([Buffer.from([247, 179]), key, Buffer.alloc(8)]));
}

/**
 * Opens the KVM websocket and does the BMC side of RFB (iDRAC preamble, version, security None, shared ClientInit,
 * ServerInit), bounded by timeoutMs. A refusal in the security phase is the BMC's busy answer.
 */
export async function openBmcRfb(spec: KvmSocketSpec, tls: BmcTlsOptions, timeoutMs: number): Promise<BmcRfbSocket> {
  const ws = await openSocket(spec, tls, timeoutMs);
  const reader = new ByteReader();
  const onMessage = (d: Buffer) => reader.push(d);
  const onClose = (code: number, reason: Buffer) =>
    reader.fail(new RfbError(`the BMC closed the console socket (${code} ${reason.toString()})`.trim(), 'closed'));
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.on('error', () => {}); // reported through close
  const timer = setTimeout(
    () => reader.fail(new RfbError(`no RFB handshake within ${timeoutMs} ms`, 'timeout')),
    timeoutMs,
  );
  try {
    if (spec.idracSecret !== undefined) await idracPreamble(reader, ws, spec.idracSecret);
    await negotiateSecurity(reader, (b) => ws.send(b), undefined);
    ws.send(Buffer.from([1])); // ClientInit, shared
    const init = await readServerInit(reader);
    return { ws, init, early: reader.drain() };
  } catch (err) {
    ws.terminate();
    if (err instanceof DirectKvmError) throw err;
    const m = /server refused the connection: (.*)$/s.exec((err as Error).message);
    if (m) throw new DirectKvmError('kvm', `the BMC refused the console: ${m[1]}`, 'busy');
    throw new DirectKvmError('rfb', (err as Error).message);
  } finally {
    clearTimeout(timer);
    ws.off('message', onMessage);
    ws.off('close', onClose);
  }
}
