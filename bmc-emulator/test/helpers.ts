import { request } from 'node:https';
import WebSocket from 'ws';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): Record<string, unknown>;
  cookies: Record<string, string>;
}

/** HTTPS request that accepts the emulator's self-signed certificate. */
export function http(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const r = request(url, { method: o.method ?? 'GET', headers: o.headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const cookies: Record<string, string> = {};
        for (const c of res.headers['set-cookie'] ?? []) {
          const m = /^([^=]+)=([^;]*)/.exec(c);
          if (m?.[1]) cookies[m[1]] = m[2] ?? '';
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: () => JSON.parse(text) as Record<string, unknown>,
          cookies,
        });
      });
    });
    r.on('error', reject);
    if (o.body !== undefined) r.write(o.body);
    r.end();
  });
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export interface KvmHello {
  status: string;
  message: string;
  ws: WebSocket;
}

/** Opens a console socket the way the viewer page does; resolves with the emulator's hello (or the refusal). */
export function openKvm(
  url: string,
  o: {
    protocols?: string[];
    cookie?: string;
    auth?: Record<string, unknown>;
    handshake?: (challenge: Buffer) => Buffer | undefined;
  } = {},
): Promise<KvmHello> {
  return new Promise((resolve, reject) => {
    // Like kvm.js: the page's subprotocol after the vendor's keeps the JSON protocol (without it: the BMC's RFB).
    const protocols = o.protocols?.length ? [...o.protocols, 'bmc-emulator.page'] : [];
    const ws = new WebSocket(url, protocols, {
      rejectUnauthorized: false,
      headers: o.cookie ? { cookie: o.cookie } : {},
    });
    ws.on('open', () => {
      if (o.auth && !o.handshake) ws.send(JSON.stringify(o.auth));
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const answer = o.handshake?.(data as Buffer);
        if (answer) ws.send(answer);
        if (o.auth) ws.send(JSON.stringify(o.auth));
        return;
      }
      const m = JSON.parse(String(data)) as Record<string, unknown>;
      if (m.type === 'hello') resolve({ status: String(m.status), message: String(m.message), ws });
    });
    ws.on('unexpected-response', (_req, res) => resolve({ status: `http-${res.statusCode}`, message: '', ws }));
    ws.on('error', reject);
  });
}

export function wsUrl(httpsUrl: string, path: string): string {
  return httpsUrl.replace(/^https:/, 'wss:') + path;
}

/** iDRAC KEY2 answer: 247,179, VCSID2 (24 ASCII bytes), 8 zero bytes. */
export function idracAnswer(vcsid2: string): (c: Buffer) => Buffer | undefined {
  return (c) =>
    c[0] === 0xf7 && c[1] === 0xb3
      ? Buffer.concat([Buffer.from([247, 179]), Buffer.from(vcsid2.padEnd(24, '\0'), 'latin1'), Buffer.alloc(8)])
      : undefined;
}

/** iLO hello after CMD_AUTHENTICATE (80): two header bytes and the session key (32 ASCII bytes). */
export function iloAnswer(key: string): (c: Buffer) => Buffer | undefined {
  return (c) =>
    c[0] === 80 ? Buffer.concat([Buffer.from([0, 32]), Buffer.from(key.padEnd(32, '\0'), 'latin1')]) : undefined;
}
