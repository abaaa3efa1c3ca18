// The RFB client against a fake TCP server that misbehaves on purpose: every case must reject with a
// clear RfbError and leave the process running.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RfbClient, waitForRfbGreeting } from '../src/rfb/client.js';
import { vncAuthResponse } from '../src/rfb/vnc-auth.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A fake RFB server: `script` drives each accepted socket, with a helper to await N client bytes. */
async function fakeServer(
  script: (sock: Socket, read: (n: number) => Promise<Buffer>) => Promise<void> | void,
): Promise<number> {
  const server = createServer((sock) => {
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let want: { n: number; resolve: (b: Buffer) => void } | undefined;
    const check = () => {
      if (want && buf.length >= want.n) {
        const w = want;
        want = undefined;
        const out = buf.subarray(0, w.n);
        buf = buf.subarray(w.n);
        w.resolve(out);
      }
    };
    sock.on('data', (b) => {
      buf = Buffer.concat([buf, b]);
      check();
    });
    const read = (n: number) =>
      new Promise<Buffer>((resolve) => {
        want = { n, resolve };
        check();
      });
    Promise.resolve(script(sock, read)).catch(() => sock.destroy());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

function serverInit(width: number, height: number, name = 'fake'): Buffer {
  const b = Buffer.alloc(24 + name.length);
  b.writeUInt16BE(width, 0);
  b.writeUInt16BE(height, 2);
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(b, 4);
  b.writeUInt32BE(name.length, 20);
  b.write(name, 24, 'latin1');
  return b;
}

/** A well-behaved 3.8 handshake with security None up to ServerInit. */
async function goodHandshake(
  sock: Socket,
  read: (n: number) => Promise<Buffer>,
  width = 64,
  height = 48,
): Promise<void> {
  sock.write('RFB 003.008\n');
  await read(12);
  sock.write(Buffer.from([1, 1]));
  await read(1);
  sock.write(Buffer.from([0, 0, 0, 0]));
  await read(1); // ClientInit
  sock.write(serverInit(width, height));
}

function rectHeader(x: number, y: number, w: number, h: number, enc: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(x, 0);
  b.writeUInt16BE(y, 2);
  b.writeUInt16BE(w, 4);
  b.writeUInt16BE(h, 6);
  b.writeInt32BE(enc, 8);
  return b;
}

const connect = (port: number, extra: { password?: string; timeoutMs?: number } = {}) =>
  RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 3000, ...extra });

describe('RfbClient against a fake server (hostile input)', () => {
  it('rejects a garbage banner', async () => {
    const port = await fakeServer((s) => void s.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await expect(connect(port)).rejects.toThrow(/not an RFB server/);
    await expect(waitForRfbGreeting('127.0.0.1', port, 3000)).rejects.toThrow(/not an RFB server/);
  });

  it('rejects an unsupported protocol version', async () => {
    const port = await fakeServer((s) => void s.write('RFB 004.001\n'));
    await expect(connect(port)).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringMatching(/major version 4/),
    });
  });

  it('rejects unsupported security types, naming what the server offered', async () => {
    const port = await fakeServer(
      (s) => void s.write(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([2, 18, 19])])),
    );
    await expect(connect(port)).rejects.toThrow(/no supported security type offered \(server offers 18,19/);
  });

  it('rejects an RFB 3.3 server that picks an unsupported security type', async () => {
    const port = await fakeServer(async (s, read) => {
      s.write('RFB 003.003\n');
      await read(12);
      s.write(Buffer.from([0, 0, 0, 16]));
    });
    await expect(connect(port)).rejects.toThrow(/unsupported security type 16/);
  });

  it('reports the server refusal reason', async () => {
    const port = await fakeServer((s) => {
      const reason = Buffer.from('too many clients');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(reason.length);
      s.write(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([0]), len, reason]));
    });
    await expect(connect(port)).rejects.toThrow(/refused the connection: too many clients/);
  });

  it('speaks VNC auth over RFB 3.3 and 3.7', async () => {
    for (const version of ['RFB 003.003\n', 'RFB 003.007\n']) {
      const port = await fakeServer(async (s, read) => {
        s.write(version);
        const answer = (await read(12)).toString();
        if (answer !== version) return void s.destroy();
        if (version.endsWith('3\n')) s.write(Buffer.from([0, 0, 0, 2]));
        else {
          s.write(Buffer.from([1, 2]));
          await read(1);
        }
        const challenge = Buffer.alloc(16, 7);
        s.write(challenge);
        const ok = (await read(16)).equals(vncAuthResponse(challenge, 'secret'));
        s.write(Buffer.from([0, 0, 0, ok ? 0 : 1]));
        if (!ok) return;
        await read(1);
        s.write(serverInit(8, 8));
      });
      const client = await connect(port, { password: 'secret' });
      expect([client.width, client.height, client.name]).toEqual([8, 8, 'fake']);
      client.close();
      await expect(connect(port, { password: 'nope' })).rejects.toMatchObject({ code: 'auth' });
    }
  });

  it('rejects a truncated handshake (server closes mid-message)', async () => {
    const port = await fakeServer(async (s, read) => {
      s.write('RFB 003.008\n');
      await read(12);
      s.end(Buffer.from([3, 1])); // promises 3 types, sends one, closes
    });
    await expect(connect(port)).rejects.toMatchObject({ code: 'closed' });
  });

  it('times out on a server that never answers', async () => {
    const port = await fakeServer(() => {});
    await expect(connect(port, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('rejects a huge framebuffer in ServerInit and a huge desktop name', async () => {
    const big = await fakeServer((s, read) => goodHandshake(s, read, 65535, 65535));
    await expect(connect(big)).rejects.toThrow(/framebuffer 65535x65535 exceeds the limit/);
    const longName = await fakeServer(async (s, read) => {
      s.write('RFB 003.008\n');
      await read(12);
      s.write(Buffer.from([1, 1]));
      await read(1);
      s.write(Buffer.from([0, 0, 0, 0]));
      await read(1);
      const init = serverInit(8, 8);
      init.writeUInt32BE(0xffffffff, 20);
      s.write(init.subarray(0, 24));
    });
    await expect(connect(longName)).rejects.toThrow(/desktop name too long/);
  });

  it('closes with an error on a rectangle outside the framebuffer, an unknown message and an unrequested encoding', async () => {
    const cases: Array<[Buffer, RegExp]> = [
      [
        Buffer.concat([Buffer.from([0, 0, 0, 1]), rectHeader(0, 0, 60000, 60000, 0)]),
        /rectangle 60000x60000\+0\+0 lies outside the 64x48 framebuffer/,
      ],
      [
        Buffer.concat([Buffer.from([0, 0, 0, 1]), rectHeader(0, 0, 65535, 65535, -223)]),
        /DesktopSize 65535x65535 exceeds the limit/,
      ],
      [Buffer.concat([Buffer.from([0, 0, 0, 1]), rectHeader(0, 0, 8, 8, 16)]), /encoding 16, which was not requested/],
      [
        Buffer.concat([Buffer.from([0, 0, 0, 1]), rectHeader(60, 40, 4, 4, 1), Buffer.from([0, 60, 0, 46])]),
        /CopyRect source .* outside/,
      ],
      [Buffer.from([77]), /unknown server message type 77/],
      [Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from([0x7f, 0xff, 0xff, 0xff])]), /cut text too long/],
    ];
    for (const [update, pattern] of cases) {
      const port = await fakeServer(async (s, read) => {
        await goodHandshake(s, read);
        await read(20 + 4 + 3 * 4 + 10); // SetPixelFormat, SetEncodings(3), FramebufferUpdateRequest
        s.write(update);
      });
      const client = await connect(port);
      const errors: Error[] = [];
      client.on('error', (e: Error) => errors.push(e));
      await expect(client.requestUpdate()).rejects.toThrow(pattern);
      expect(errors[0]?.message).toMatch(pattern);
    }
  });

  it('rejects a truncated framebuffer update when the server closes', async () => {
    const port = await fakeServer(async (s, read) => {
      await goodHandshake(s, read);
      await read(20 + 16 + 10);
      s.end(Buffer.concat([Buffer.from([0, 0, 0, 1]), rectHeader(0, 0, 64, 48, 0), Buffer.alloc(100)]));
    });
    const client = await connect(port);
    await expect(client.requestUpdate()).rejects.toMatchObject({ code: 'closed' });
  });

  it('applies Raw and CopyRect from a well-behaved fake server', async () => {
    const port = await fakeServer(async (s, read) => {
      await goodHandshake(s, read, 4, 2);
      await read(20 + 16 + 10);
      const raw = Buffer.alloc(2 * 2 * 4);
      for (let i = 0; i < 4; i++) Buffer.from([10 * i, 20, 30, 0]).copy(raw, i * 4);
      s.write(
        Buffer.concat([
          Buffer.from([0, 0, 0, 2]),
          rectHeader(0, 0, 2, 2, 0),
          raw,
          rectHeader(2, 0, 2, 2, 1),
          Buffer.from([0, 0, 0, 0]),
        ]),
      );
    });
    const client = await connect(port);
    await client.requestUpdate();
    expect(client.pixel(1, 1)).toEqual([30, 20, 30]);
    expect(client.pixel(3, 1)).toEqual([30, 20, 30]);
    expect(client.framebuffer[3]).toBe(255);
    client.close();
  });
});
