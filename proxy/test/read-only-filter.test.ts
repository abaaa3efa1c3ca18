// Read-only sessions on the security-proxy path: viewer input never reaches the console. The console here is a
// fake console (a TCP server doing the RFB server side with VNC auth) so that every byte it receives can be checked.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { ByteReader, attachSocket } from '@bmc-console/common/rfb/byte-reader';
import { vncAuthResponse } from '@bmc-console/common/rfb/vnc-auth';
import { ReadOnlyFilter } from '../src/read-only-filter.js';
import { startProxy, type RunningProxy } from '../src/server.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';
import { startWsBridge } from './ws-bridge.js';

describe('ReadOnlyFilter', () => {
  it('passes ClientInit and non-input messages, drops input, across arbitrary chunk borders', () => {
    const f = new ReadOnlyFilter();
    const clientInit = Buffer.from([1]);
    const fbur = Buffer.from([3, 1, 0, 0, 0, 0, 0, 10, 0, 10]);
    const key = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
    const pointer = Buffer.from([5, 1, 0, 5, 0, 5]);
    const cut = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('abc')]);
    const enc = Buffer.from([2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
    const all = Buffer.concat([clientInit, fbur, key, pointer, cut, enc, fbur]);
    const out: Buffer[] = [];
    for (let i = 0; i < all.length; i += 3) out.push(f.push(all.subarray(i, i + 3)));
    expect(Buffer.concat(out)).toEqual(Buffer.concat([clientInit, fbur, enc, fbur]));
    expect(f.dropped).toBe(3);
  });

  it('skips a ClientCutText of declared length 2^31 (extended form -2^31 too) without buffering it', () => {
    for (const declared of [0x7fffffff, -0x80000000]) {
      const f = new ReadOnlyFilter();
      const head = Buffer.alloc(8);
      head.writeUInt8(6, 0);
      head.writeInt32BE(declared, 4);
      expect(f.push(Buffer.concat([Buffer.from([1]), head]))).toEqual(Buffer.from([1]));
      const heapBefore = process.memoryUsage().arrayBuffers;
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      for (let i = 0; i < 64; i++) expect(f.push(chunk)).toHaveLength(0); // 64 MiB of clipboard text, all skipped
      expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(16 * 1024 * 1024);
      expect((f as unknown as { pending: Buffer }).pending.length).toBe(0);
      expect(f.dropped).toBe(1);
    }
    // Once the declared text has gone by, messages are parsed again.
    const f = new ReadOnlyFilter();
    const fbur = Buffer.from([3, 1, 0, 0, 0, 0, 0, 10, 0, 10]);
    const out = f.push(Buffer.concat([Buffer.from([1, 6, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('ab')]));
    expect(Buffer.concat([out, f.push(Buffer.concat([Buffer.from('cde'), fbur]))])).toEqual(
      Buffer.concat([Buffer.from([1]), fbur]),
    );
  });

  it('refuses a message type it cannot size', () => {
    const f = new ReadOnlyFilter();
    expect(() => f.push(Buffer.from([1, 77, 0, 0]))).toThrow(/unknown client message type 77/);
  });
});

describe('read-only session through the security proxy (fake console)', () => {
  const PASSWORD = 'ro-pass1';
  let fakeConsole: Server;
  let port: number;
  let agent: FakeAgent;
  let proxy: RunningProxy;
  /** Client message types the fake console received after ServerInit. */
  const types: number[] = [];

  beforeAll(async () => {
    // Fake console: RFB 3.8 server with VNC auth and a 4x4 framebuffer; records what arrives after ServerInit.
    fakeConsole = createServer((sock) => {
      sock.on('error', () => {});
      const r = new ByteReader();
      attachSocket(r, sock);
      void (async () => {
        sock.write('RFB 003.008\n');
        await r.read(12);
        sock.write(Buffer.from([1, 2]));
        await r.read(1);
        const challenge = Buffer.alloc(16, 9);
        sock.write(challenge);
        const ok = (await r.read(16)).equals(vncAuthResponse(challenge, PASSWORD));
        sock.write(Buffer.from([0, 0, 0, ok ? 0 : 1]));
        if (!ok) return sock.end();
        await r.read(1); // ClientInit
        const init = Buffer.alloc(24);
        init.writeUInt16BE(4, 0);
        init.writeUInt16BE(4, 2);
        Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]).copy(init, 4);
        sock.write(init);
        for (;;) {
          const type = await r.u8();
          types.push(type);
          if (type === 0) await r.read(19);
          else if (type === 2) await r.read(4 * (await r.read(3)).readUInt16BE(1));
          else if (type === 4) await r.read(7);
          else if (type === 5) await r.read(5);
          else if (type === 3) {
            await r.read(9);
            // answer each FramebufferUpdateRequest with one 1x1 Raw rectangle
            sock.write(
              Buffer.concat([
                Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]),
                Buffer.from([200, 100, 50, 0]),
              ]),
            );
          } else throw new Error(`fake console: unexpected message ${type}`);
        }
      })().catch(() => sock.destroy());
    });
    await new Promise<void>((r) => fakeConsole.listen(0, '127.0.0.1', r));
    port = (fakeConsole.address() as AddressInfo).port;
    agent = await startFakeAgent();
    proxy = await startProxy({ port: 0, agentUrl: agent.url }, { logger: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await proxy?.close();
    await agent?.close();
    fakeConsole?.close();
  });

  it('drops key and pointer events of a read-only session, keeps update requests', async () => {
    types.length = 0;
    const token = agent.issue({ node: 'ro', host: '127.0.0.1', port, vncPassword: PASSWORD, readOnly: true });
    const bridge = await startWsBridge(`${proxy.url.replace('http', 'ws')}/websockify?node=ro&token=${token}`);
    const client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port });
    client.pointerEvent(1, 1, 1);
    await client.typeText('secret');
    await client.requestUpdate(false); // ordered after the input on the same stream
    expect(client.pixel(0, 0)).toEqual([200, 100, 50]);
    expect(types).toEqual([0, 2, 3]); // SetPixelFormat, SetEncodings, FramebufferUpdateRequest: no KeyEvent, no PointerEvent
    client.close();
    await bridge.close();
  });

  it('passes input through for a session that is not read-only', async () => {
    types.length = 0;
    const token = agent.issue({ node: 'rw', host: '127.0.0.1', port, vncPassword: PASSWORD });
    const bridge = await startWsBridge(`${proxy.url.replace('http', 'ws')}/websockify?node=rw&token=${token}`);
    const client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port });
    client.pointerEvent(1, 1, 1);
    await client.typeText('a');
    await client.requestUpdate(false);
    expect(types).toEqual([0, 2, 5, 4, 4, 3]);
    client.close();
    await bridge.close();
  });
});
