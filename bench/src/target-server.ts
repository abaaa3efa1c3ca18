/**
 * The benchmark's console: a TCP server that speaks RFB 3.8 up to ServerInit and then serves
 * the commands of rfb-bench-protocol.ts (stream, ping, echo). Runs as its own process so that the client's and
 * the console's work do not share one event loop. Like a real console (x11vnc -rfbauth) it asks for VNC
 * authentication with the password in env BENCH_VNC_PASSWORD (never argv), so our proxy runs its security proxy
 * as in production while websockify and the raw relay pass the exchange through to the client. Prints {"benchReady":true,"port":N} on stdout when listening.
 */
import { createServer, type Socket } from 'node:net';
import { ByteQueue } from './byte-queue.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { vncAuthResponse } from '@bmc-console/common/rfb/vnc-auth';
import {
  CLIENT_CUT_TEXT,
  CUT_TEXT_HEADER,
  SERVER_CUT_TEXT,
  STREAM_MESSAGE_BYTES,
  cutText,
  serverInit,
} from './rfb-bench-protocol.js';
import { serveAsBenchChild } from './serve-child.js';

const password = process.env.BENCH_VNC_PASSWORD ?? '';
if (!password) {
  process.stderr.write('target-server: env BENCH_VNC_PASSWORD must be set (the console VNC password)\n');
  process.exit(2);
}
const streamMessage = cutText(SERVER_CUT_TEXT, Buffer.alloc(STREAM_MESSAGE_BYTES - CUT_TEXT_HEADER, 0x5a));

async function serve(socket: Socket): Promise<void> {
  socket.setNoDelay(true);
  const q = new ByteQueue();
  socket.on('data', (d) => q.push(d));
  socket.on('close', () => q.fail(new Error('closed')));
  socket.on('error', () => q.fail(new Error('socket error')));
  socket.write('RFB 003.008\n');
  await q.read(12);
  socket.write(Buffer.from([1, 2])); // one security type: VNC authentication
  if ((await q.read(1))[0] !== 2) throw new Error('client did not pick VNC authentication');
  const challenge = randomBytes(16);
  socket.write(challenge);
  const ok = timingSafeEqual(await q.read(16), vncAuthResponse(challenge, password));
  socket.write(Buffer.from([0, 0, 0, ok ? 0 : 1])); // SecurityResult
  if (!ok) throw new Error('wrong VNC password');
  await q.read(1); // ClientInit
  socket.write(serverInit());
  for (;;) {
    const header = await q.read(CUT_TEXT_HEADER);
    if (header[0] !== CLIENT_CUT_TEXT) throw new Error(`unexpected client message type ${header[0]}`);
    const text = await q.read(header.readUInt32BE(4));
    const command = text.toString('latin1');
    if (command.startsWith('S ')) await stream(socket, Number(command.slice(2)));
    else if (command === 'P') socket.write(cutText(SERVER_CUT_TEXT, text));
    else socket.write(cutText(SERVER_CUT_TEXT, text));
  }
}

/** Writes `bytes` bytes of ServerCutText, waiting for the socket to drain so memory stays flat. */
async function stream(socket: Socket, bytes: number): Promise<void> {
  for (let sent = 0; sent < bytes; sent += STREAM_MESSAGE_BYTES) {
    if (!socket.write(streamMessage)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          socket.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          socket.off('drain', onDrain);
          reject(new Error('closed while streaming'));
        };
        socket.once('drain', onDrain).once('close', onClose);
      });
    }
  }
}

const server = createServer((socket) => {
  serve(socket).catch(() => socket.destroy());
});
serveAsBenchChild(server);
