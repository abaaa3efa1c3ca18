/**
 * A viewer of a console through our proxy's websocket, as a browser's noVNC is: it opens /websockify for a node,
 * speaks RFB over it (common's RfbClient through a loopback bridge), asks for the next update as soon as one came,
 * and notes when the emulator's KVM marker is first on screen.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loopbackBridge, type LoopbackBridge } from '@bmc-console/common/direct/loopback-bridge';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { showsMarker } from '@bmc-console/bmc-emulator/marker';
import { createWebSocketStream, WebSocket } from 'ws';

type Colour = { r: number; g: number; b: number };

/** Times (ms since epoch) of a viewer's steps, from the moment it asked for the websocket. */
export interface ViewerTimes {
  asked: number;
  /** The proxy accepted the websocket (the token was verified). */
  wsOpen: number;
  /** ServerInit read: the proxy logged in to the BMC, opened its KVM socket and did both handshakes. */
  rfbReady: number;
  /** The first framebuffer update that shows the marker. */
  marker?: number;
}

export class ProxyViewer {
  private stopped = false;
  /** Updates applied since the connection. */
  updates = 0;

  private constructor(
    private readonly client: RfbClient,
    private readonly bridge: LoopbackBridge,
    readonly times: ViewerTimes,
  ) {
    client.on('error', () => undefined);
    client.on('update', () => this.updates++);
  }

  /** Opens the proxy's websocket for `node` and does the RFB handshake; rejects after `timeoutMs`. */
  static async open(proxyWsBase: string, node: string, timeoutMs: number): Promise<ProxyViewer> {
    const asked = Date.now();
    const ws = new WebSocket(`${proxyWsBase}/websockify?node=${encodeURIComponent(node)}&token=bench-${node}`, {
      perMessageDeflate: false,
    });
    const wsOpen = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`${node}: no websocket within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(Date.now());
      });
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`${node}: websocket: ${e.message}`));
      });
    });
    const stream = createWebSocketStream(ws);
    stream.on('error', () => undefined);
    const bridge = await loopbackBridge(stream);
    try {
      const left = Math.max(1000, timeoutMs - (Date.now() - asked));
      const client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port, timeoutMs: left });
      return new ProxyViewer(client, bridge, { asked, wsOpen, rfbReady: Date.now() });
    } catch (err) {
      bridge.close();
      ws.terminate();
      throw new Error(`${node}: RFB through the proxy: ${(err as Error).message}`);
    }
  }

  /** Asks for updates (the first in full) until the marker shows; records its time. Rejects after `timeoutMs`. */
  async waitForMarker(colour: Colour, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let incremental = false;
    while (Date.now() < deadline) {
      try {
        await this.client.requestUpdate(incremental);
        incremental = true;
        if (showsMarker(this.client.framebuffer, colour)) return (this.times.marker = Date.now());
      } catch {
        // no change within the client's timeout: ask again, unless the connection is gone
        if ((this.client as unknown as { closed?: boolean }).closed)
          throw new Error('the connection closed before the marker showed');
        await sleep(50);
      }
    }
    throw new Error(`no KVM marker within ${timeoutMs} ms`);
  }

  /** From now on asks for the next incremental update as soon as one came, as noVNC does, until close(). */
  keepWatching(): void {
    void (async () => {
      while (!this.stopped) {
        await this.client.requestUpdate(true).catch(async () => {
          if (!this.stopped) await sleep(500);
        });
      }
    })();
  }

  /** A full update now: whether it shows the marker (the console is live end to end). */
  async showsMarkerNow(colour: Colour, timeoutMs = 15_000): Promise<boolean> {
    try {
      await Promise.race([
        this.client.requestUpdate(false),
        sleep(timeoutMs).then(() => Promise.reject(new Error('timeout'))),
      ]);
      return showsMarker(this.client.framebuffer, colour);
    } catch {
      return false;
    }
  }

  close(): void {
    this.stopped = true;
    this.client.close();
    this.bridge.close();
  }
}
