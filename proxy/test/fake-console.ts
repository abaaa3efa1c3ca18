// A fake console for proxy tests: a TCP server doing the RFB 3.8 server side (VNC auth when given a password, else
// None) with a 4x4 framebuffer, so every byte a console receives can be checked. Each FramebufferUpdateRequest is
// answered with one 1x1 Raw rectangle (20 bytes), which lets a test wait until everything sent before it arrived.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ByteReader, attachSocket } from '@bmc-console/common/rfb/byte-reader';
import { vncAuthResponse } from '@bmc-console/common/rfb/vnc-auth';

const FAKE_DESKTOP_NAME = 'fake-console';

/** One 1x1 Raw rectangle: the answer to every FramebufferUpdateRequest. */
export const UPDATE = Buffer.concat([
  Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]),
  Buffer.from([200, 100, 50, 0]),
]);

export interface FakeConsole {
  port: number;
  /** Client message types received after ServerInit, all connections. */
  types: number[];
  /** Keysyms of KeyEvents received, all connections. */
  keys: number[];
  /** The shared flag of each connection's ClientInit. */
  shared: number[];
  /** The ServerInit it sends. */
  serverInit: Buffer;
  close(): Promise<void>;
}

export async function startFakeConsole(password?: string): Promise<FakeConsole> {
  const name = Buffer.from(FAKE_DESKTOP_NAME);
  const head = Buffer.alloc(24);
  head.writeUInt16BE(4, 0);
  head.writeUInt16BE(4, 2);
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]).copy(head, 4);
  head.writeUInt32BE(name.length, 20);
  const fake: FakeConsole = {
    port: 0,
    types: [],
    keys: [],
    shared: [],
    serverInit: Buffer.concat([head, name]),
    close: async () => {},
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const r = new ByteReader();
    attachSocket(r, sock);
    void (async () => {
      sock.write('RFB 003.008\n');
      await r.read(12);
      if (password === undefined) {
        sock.write(Buffer.from([1, 1]));
        await r.read(1);
        sock.write(Buffer.from([0, 0, 0, 0]));
      } else {
        sock.write(Buffer.from([1, 2]));
        await r.read(1);
        const challenge = Buffer.alloc(16, 9);
        sock.write(challenge);
        const ok = (await r.read(16)).equals(vncAuthResponse(challenge, password));
        sock.write(Buffer.from([0, 0, 0, ok ? 0 : 1]));
        if (!ok) return sock.end();
      }
      fake.shared.push(await r.u8());
      sock.write(fake.serverInit);
      for (;;) {
        const type = await r.u8();
        fake.types.push(type);
        if (type === 0) await r.read(19);
        else if (type === 2) await r.read(4 * (await r.read(3)).readUInt16BE(1));
        else if (type === 4) fake.keys.push((await r.read(7)).readUInt32BE(3));
        else if (type === 5) await r.read(5);
        else if (type === 6) await r.read((await r.read(7)).readUInt32BE(3));
        else if (type === 3) {
          await r.read(9);
          sock.write(UPDATE);
        } else throw new Error(`fake console: unexpected message ${type}`);
      }
    })().catch(() => sock.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.port = (server.address() as AddressInfo).port;
  fake.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return fake;
}

/** A 1x1 framebuffer's ServerInit with an empty name. */
export const TINY_SERVER_INIT = Buffer.concat([
  Buffer.from([0, 1, 0, 1]),
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]),
  Buffer.alloc(4),
]);

/**
 * A console that does the RFB 3.8 server side with security None up to ServerInit (the proxy ends the handshake
 * itself), then hands each connection to `onConn`: for tests that stream or stall on their own.
 */
export async function startStreamingConsole(
  onConn: (s: Socket) => void,
  serverInit: Buffer = TINY_SERVER_INIT,
): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    const r = new ByteReader();
    const detach = attachSocket(r, s);
    void (async () => {
      s.write('RFB 003.008\n');
      await r.read(12);
      s.write(Buffer.from([1, 1]));
      await r.read(1);
      s.write(Buffer.from([0, 0, 0, 0]));
      await r.read(1); // ClientInit
      detach();
      s.write(serverInit);
      onConn(s);
    })().catch(() => s.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}
