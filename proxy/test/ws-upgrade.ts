// Test helper: a raw websocket to the proxy, telling an accepted upgrade from a refused one (and why it was refused).
import { WebSocket } from 'ws';

export interface UpgradeResult {
  /** 101 for an open websocket, else the HTTP status of the refusal. */
  status: number;
  body: string;
  ws?: WebSocket;
}

/** Opens a raw websocket; resolves with the open socket or the HTTP status and body of a refused upgrade. */
export function tryUpgrade(url: string, headers: Record<string, string>): Promise<UpgradeResult> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.on('open', () => resolve({ status: 101, body: '', ws }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => {});
  });
}

/** The close code and reason of this websocket, once it closes. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}
