// The RFB client against a real x11vnc on a real Xvfb.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureFrame, RfbClient, waitForRfbGreeting } from '../src/rfb/client.js';
import { encodePng } from '../src/rfb/png.js';
import { PNG } from 'pngjs';
import { setRootColour, startX11vnc, startXvfb, untilPixel, type TestDisplay, type TestVnc } from './rfb-display.js';

let xvfb: TestDisplay;
let open: TestVnc;
let locked: TestVnc;
let lockedRfbauth: TestVnc;
const PASSWORD = 'pa55-w0rd';

beforeAll(async () => {
  xvfb = await startXvfb(320, 240);
  setRootColour(xvfb.display, '#ff8000');
  [open, locked, lockedRfbauth] = await Promise.all([
    startX11vnc(xvfb.display),
    startX11vnc(xvfb.display, { password: PASSWORD }),
    startX11vnc(xvfb.display, { password: PASSWORD, passwordVia: 'rfbauth' }),
  ]);
});

afterAll(async () => {
  await Promise.all([open?.stop(), locked?.stop(), lockedRfbauth?.stop()]);
  await xvfb?.stop();
});

// The X cursor is drawn into the framebuffer (screen centre, or where pointer events moved it): sample elsewhere.
describe('RfbClient with real x11vnc', () => {
  it('reads the RFB greeting', async () => {
    expect(await waitForRfbGreeting('127.0.0.1', open.port, 10_000)).toBe('RFB 003.008');
  });

  it('receives the colour drawn on the X screen (security None)', async () => {
    const client = await RfbClient.connect({ host: '127.0.0.1', port: open.port });
    try {
      expect([client.width, client.height]).toEqual([320, 240]);
      expect(client.framebuffer.length).toBe(320 * 240 * 4);
      expect(await untilPixel(client, 100, 50, [255, 128, 0])).toEqual([255, 128, 0]);
      // A new colour arrives through an incremental update.
      setRootColour(xvfb.display, '#0040c0');
      expect(await untilPixel(client, 300, 200, [0, 64, 192])).toEqual([0, 64, 192]);
      setRootColour(xvfb.display, '#ff8000');
      expect(await untilPixel(client, 40, 200, [255, 128, 0])).toEqual([255, 128, 0]);
    } finally {
      client.close();
    }
  });

  it('captures a frame as a PNG', async () => {
    const frame = await captureFrame({ host: '127.0.0.1', port: open.port });
    const png = PNG.sync.read(encodePng(frame));
    expect([png.width, png.height]).toEqual([320, 240]);
    expect([...png.data.subarray(0, 4)]).toHaveLength(4);
  });

  it('authenticates with the right VNC password (-passwdfile and -rfbauth)', async () => {
    for (const vnc of [locked, lockedRfbauth]) {
      const client = await RfbClient.connect({ host: '127.0.0.1', port: vnc.port, password: PASSWORD });
      expect(await untilPixel(client, 200, 60, [255, 128, 0])).toEqual([255, 128, 0]);
      client.close();
    }
  });

  it('rejects a wrong VNC password and a missing one with clear messages', async () => {
    await expect(RfbClient.connect({ host: '127.0.0.1', port: lockedRfbauth.port, password: 'wrong' })).rejects.toThrow(
      /VNC authentication failed/,
    );
    await expect(RfbClient.connect({ host: '127.0.0.1', port: locked.port })).rejects.toThrow(
      /requires VNC authentication but no password/,
    );
  });

  it('sends key and pointer events without breaking the session', async () => {
    const client = await RfbClient.connect({ host: '127.0.0.1', port: open.port });
    client.pointerEvent(10, 10, 1);
    client.pointerEvent(10, 10, 0);
    await client.typeText('Hi\n');
    await client.requestUpdate(false);
    client.close();
    await expect(client.requestUpdate()).rejects.toThrow(/closed/);
  });

  it('fails to connect to a closed port with a connect error', async () => {
    await expect(RfbClient.connect({ host: '127.0.0.1', port: 1, timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'connect',
    });
  });
});
