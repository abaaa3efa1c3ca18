/**
 * A websocket client that does no more than the benchmark needs: the RFC 6455 upgrade written by hand over a
 * plain TCP socket, masked binary frames out, and frame payloads handed on as they arrive (slices of one reused
 * read buffer, never reassembled into messages). It exists so that a single-stream throughput run measures the
 * relay and not the client. `ws` reassembles each 64 KiB message across socket reads (a copy into a fresh buffer),
 * and node reads every chunk into a fresh 64 KiB buffer whose pages the C heap hands back and faults in again: the
 * ws client's CPU per GiB moved 0.5-3 s between rounds of the same stream, more than the relay's own
 * (docs/benchmarks.md, what shaped the code). ws:// only: the TLS rows keep the ws client.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { connect as tcpConnect, type OnReadOpts } from 'node:net';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
const READ_BUFFER_BYTES = 256 * 1024;
const MAX_RESPONSE_HEAD = 16 * 1024;

export interface FrameTransport {
  write(payload: Buffer): void;
  close(): void;
}

/**
 * Opens `url` (ws://, subprotocol "binary"). `onData` gets binary payload bytes in order, as slices of a read
 * buffer that is reused: they are valid only during the call, so a caller that keeps them must copy.
 */
export function openFrameClient(
  url: string,
  onData: (b: Buffer) => void,
  onFail: (err: Error) => void,
  timeoutMs: number,
): Promise<FrameTransport> {
  const u = new URL(url);
  if (u.protocol !== 'ws:')
    return Promise.reject(new Error(`the frame-level client speaks ws:// only, got ${u.protocol}//`));
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    let reader: FrameReader | undefined;
    let head = Buffer.alloc(0);
    const fail = (err: Error): void => {
      onFail(err);
      reject(err);
      socket.destroy();
    };
    const send = (opcode: number, payload: Buffer): void => void socket.write(maskedFrame(opcode, payload));
    /** Collects the HTTP response head; once complete, checks the upgrade and hands the rest to the frame reader. */
    const onHandshakeBytes = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_RESPONSE_HEAD) fail(new Error('websocket upgrade: no end of the response head'));
        return;
      }
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1];
      if (status !== '101') return fail(new Error(`websocket upgrade refused: ${lines[0] ?? 'no status line'}`));
      const accept = lines
        .find((l) => /^sec-websocket-accept:/i.test(l))
        ?.split(':')[1]
        ?.trim();
      if (accept !== createHash('sha1').update(`${key}${WS_GUID}`).digest('base64'))
        return fail(new Error('websocket upgrade: wrong Sec-WebSocket-Accept'));
      clearTimeout(timer);
      reader = new FrameReader(
        onData,
        (opcode, payload) => {
          if (opcode === OP_PING) send(OP_PONG, payload);
          else if (opcode === OP_CLOSE)
            onFail(new Error(`websocket closed (${payload.length >= 2 ? payload.readUInt16BE(0) : 'no code'})`));
        },
        onFail,
      );
      resolve({ write: (b) => send(OP_BINARY, b), close: () => socket.destroy() });
      const rest = head.subarray(end + 4);
      if (rest.length) reader.push(rest);
    };
    const socket = tcpConnect({
      host: u.hostname,
      port: Number(u.port || 80),
      noDelay: true,
      onread: reusedReadBuffer((chunk) => (reader ? reader.push(chunk) : onHandshakeBytes(chunk))),
    });
    const timer = setTimeout(() => fail(new Error(`no websocket upgrade within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () =>
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Protocol: binary\r\n\r\n`,
      ),
    );
    socket.on('close', () => {
      clearTimeout(timer);
      onFail(new Error('websocket closed (socket)'));
    });
    socket.on('error', fail);
  });
}

/**
 * node's `onread` socket option with one buffer reused for every read (a fresh buffer per read costs the client
 * page faults). Each chunk is a slice of that buffer, valid only during `onChunk`.
 */
export function reusedReadBuffer(onChunk: (chunk: Buffer) => void): OnReadOpts {
  return {
    buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
    callback: (n: number, buf: Uint8Array) => {
      onChunk(Buffer.from(buf.buffer, buf.byteOffset, n));
      return true;
    },
  };
}

/** A client frame: FIN, the opcode, the payload masked with a fresh key (RFC 6455 5.3). */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const lenBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + lenBytes + 4 + n);
  frame[0] = 0x80 | opcode;
  if (lenBytes === 0) frame[1] = 0x80 | n;
  else if (lenBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  const maskAt = 2 + lenBytes;
  randomFillSync(frame, maskAt, 4);
  for (let i = 0; i < n; i++) frame[maskAt + 4 + i] = payload[i]! ^ frame[maskAt + (i & 3)]!;
  return frame;
}

/**
 * Server frames in, payload slices out. Data frames (binary and their continuations) go to `onData` as they
 * arrive; control frames (at most 125 bytes) are collected whole and go to `onControl`.
 */
class FrameReader {
  private header = Buffer.alloc(14);
  private headerHave = 0;
  private payloadLeft = 0;
  private opcode = 0;
  private control: Buffer[] = [];

  constructor(
    private readonly onData: (b: Buffer) => void,
    private readonly onControl: (opcode: number, payload: Buffer) => void,
    private readonly onFail: (err: Error) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - at);
        this.payload(chunk.subarray(at, at + take));
        at += take;
        this.payloadLeft -= take;
        if (this.payloadLeft === 0) this.endFrame();
        continue;
      }
      this.header[this.headerHave++] = chunk[at++]!;
      const need = this.headerLength();
      if (need === undefined || this.headerHave < need) continue;
      if (this.header[1]! & 0x80) return this.onFail(new Error('server sent a masked frame'));
      this.opcode = this.header[0]! & 0x0f;
      const len7 = this.header[1]! & 0x7f;
      this.payloadLeft =
        len7 < 126 ? len7 : len7 === 126 ? this.header.readUInt16BE(2) : Number(this.header.readBigUInt64BE(2));
      if (this.opcode !== OP_BINARY && this.opcode !== OP_CONTINUATION && this.opcode < OP_CLOSE)
        return this.onFail(new Error(`relay sent a frame with opcode ${this.opcode} (expected binary)`));
      this.headerHave = 0;
      if (this.payloadLeft === 0) this.endFrame();
    }
  }

  /** Bytes of the current header, once its second byte says; undefined before that. */
  private headerLength(): number | undefined {
    if (this.headerHave < 2) return undefined;
    const len7 = this.header[1]! & 0x7f;
    return 2 + (len7 < 126 ? 0 : len7 === 126 ? 2 : 8);
  }

  private payload(b: Buffer): void {
    if (this.opcode >= OP_CLOSE) this.control.push(Buffer.from(b));
    else this.onData(b);
  }

  private endFrame(): void {
    if (this.opcode >= OP_CLOSE) {
      this.onControl(this.opcode, Buffer.concat(this.control));
      this.control = [];
    }
  }
}
