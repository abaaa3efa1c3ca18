/**
 * The browser side of a benchmark session: a ws client (binary frames, no permessage-deflate), the frame-level
 * client of frame-client.ts (for throughput that the client does not limit) or, for the raw relay, a plain TCP
 * client. It does the RFB handshake with the benchmark console through the relay under test,
 * then measures streams and round trips.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { vncAuthResponse } from '@bmc-console/common/rfb/vnc-auth';
import { ByteQueue } from './byte-queue.js';
import { openFrameClient, reusedReadBuffer } from './frame-client.js';
import { CLIENT_CUT_TEXT, CUT_TEXT_HEADER, cutText, streamCommand } from './rfb-bench-protocol.js';

/**
 * Where a session goes: a websocket URL (ws:// or wss://) or the raw relay's TCP port. `vncPassword` is for
 * relays that pass the console's VNC authentication through (websockify, raw); our proxy answers it itself and
 * offers the browser None.
 */
export type Endpoint = ({ kind: 'ws'; url: string } | { kind: 'tcp'; port: number }) & { vncPassword?: string };

export interface BenchSession {
  /** Streams `bytes` bytes console -> client and resolves with the seconds from request to last byte. */
  stream(bytes: number): Promise<number>;
  /** Sends `size`-byte messages one at a time and resolves with each round trip in microseconds. */
  roundTrips(count: number, size: number): Promise<number[]>;
  /** One small round trip: proves the session reaches the console. */
  ping(): Promise<void>;
  close(): void;
}

interface Transport {
  write(b: Buffer): void;
  close(): void;
}

/** Which client speaks websocket: `ws` (messages, as a library user sees them) or `frames` (payload slices). */
export type WsClient = 'ws' | 'frames';

export async function openSession(
  endpoint: Endpoint,
  timeoutMs = 30_000,
  wsClient: WsClient = 'ws',
): Promise<BenchSession> {
  const q = new ByteQueue();
  let sink: ((b: Buffer) => void) | undefined;
  let failPending: ((err: Error) => void) | undefined;
  // Copied when queued: the frame-level client hands out slices of a read buffer it reuses.
  const onData = (b: Buffer): void => (sink ? sink(b) : q.push(Buffer.from(b)));
  const onFail = (err: Error): void => {
    q.fail(err);
    failPending?.(err);
  };
  const transport =
    endpoint.kind === 'tcp'
      ? await openTcp(endpoint.port, onData, onFail, timeoutMs)
      : wsClient === 'frames'
        ? await openFrameClient(endpoint.url, onData, onFail, timeoutMs)
        : await openWs(endpoint.url, onData, onFail, timeoutMs);
  const timer = setTimeout(
    () => onFail(new Error(`RFB handshake through ${describe(endpoint)} took over ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    const banner = (await q.read(12)).toString('latin1');
    if (!banner.startsWith('RFB 003.')) throw new Error(`expected an RFB banner, got ${JSON.stringify(banner)}`);
    transport.write(Buffer.from('RFB 003.008\n', 'latin1'));
    const types = [...(await q.read((await q.read(1))[0]!))];
    if (types.includes(1)) transport.write(Buffer.from([1]));
    else if (types.includes(2) && endpoint.vncPassword !== undefined) {
      transport.write(Buffer.from([2]));
      transport.write(vncAuthResponse(await q.read(16), endpoint.vncPassword));
    } else throw new Error(`no usable security type offered (${types.join(',')})`);
    const result = (await q.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`security result ${result} (expected 0 OK)`);
    transport.write(Buffer.from([1])); // ClientInit, shared
    const init = await q.read(24);
    await q.read(init.readUInt32BE(20));
  } catch (err) {
    transport.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }

  /** Reads exactly `bytes` bytes in counting mode (no buffering), then returns to queue mode. */
  const receive = (bytes: number): Promise<void> =>
    new Promise((resolve, reject) => {
      let got = 0;
      const leftover = q.drain();
      const finish = (err?: Error): void => {
        sink = undefined;
        failPending = undefined;
        if (err) reject(err);
        else resolve();
      };
      failPending = finish;
      sink = (b) => {
        got += b.length;
        if (got > bytes) finish(new Error(`received ${got} bytes, expected ${bytes}`));
        else if (got === bytes) finish();
      };
      for (const b of leftover) sink(b);
    });

  return {
    async stream(bytes) {
      const t0 = process.hrtime.bigint();
      const done = receive(bytes);
      transport.write(streamCommand(bytes));
      await done;
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
    async roundTrips(count, size) {
      const msg = cutText(CLIENT_CUT_TEXT, Buffer.alloc(size - CUT_TEXT_HEADER, 0x61));
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const t0 = process.hrtime.bigint();
        const done = receive(size);
        transport.write(msg);
        await done;
        out.push(Number(process.hrtime.bigint() - t0) / 1e3);
      }
      return out;
    },
    async ping() {
      const done = receive(CUT_TEXT_HEADER + 1);
      transport.write(cutText(CLIENT_CUT_TEXT, Buffer.from('P')));
      await done;
    },
    close: () => transport.close(),
  };
}

function describe(e: Endpoint): string {
  return e.kind === 'ws' ? e.url.replace(/token=[^&]*/, 'token=[redacted]') : `tcp://127.0.0.1:${e.port}`;
}

function openWs(
  url: string,
  onData: (b: Buffer) => void,
  onFail: (err: Error) => void,
  timeoutMs: number,
): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'], {
      perMessageDeflate: false,
      rejectUnauthorized: false,
      handshakeTimeout: timeoutMs,
    });
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return onFail(new Error('relay sent a text frame'));
      onData(data as Buffer);
    });
    ws.on('close', (code) => onFail(new Error(`websocket closed (${code})`)));
    ws.on('error', (err) => {
      onFail(err);
      reject(new Error(`websocket to ${url.replace(/token=[^&]*/, 'token=[redacted]')}: ${err.message}`));
    });
    ws.on('unexpected-response', (_req, res) => {
      const err = new Error(`websocket upgrade refused: HTTP ${res.statusCode}`);
      onFail(err);
      reject(err);
      ws.terminate();
    });
    ws.on('open', () =>
      resolve({
        write: (b) => ws.send(b, { binary: true }),
        close: () => ws.terminate(),
      }),
    );
  });
}

function openTcp(
  port: number,
  onData: (b: Buffer) => void,
  onFail: (err: Error) => void,
  timeoutMs: number,
): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const s: Socket = tcpConnect({
      host: '127.0.0.1',
      port,
      timeout: timeoutMs,
      noDelay: true,
      onread: reusedReadBuffer(onData),
    });
    s.on('close', () => onFail(new Error('tcp closed')));
    s.on('error', (err) => {
      onFail(err);
      reject(err);
    });
    s.on('connect', () => {
      s.setTimeout(0);
      resolve({ write: (b) => s.write(b), close: () => s.destroy() });
    });
  });
}
