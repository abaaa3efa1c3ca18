// A fake Ironic API for proxy tests: only GET /v1/nodes/{node}/states/console, answered like Ironic 29 does
// (console_enabled, console_info {type: vnc, url: <public_url>?path=websockify%3Fnode%3D..%26token%3D..}), behind
// optional HTTP basic auth. Tests enable and disable consoles and break it on purpose.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeIronicNode {
  consoleEnabled: boolean;
  /** driver_internal_info['novnc_secret_token'] */
  token: string | undefined;
}

export interface FakeIronic {
  url: string;
  /** Ironic's [vnc]public_url: the base of console URLs (our proxy). */
  publicUrl: string;
  nodes: Map<string, FakeIronicNode>;
  /** Headers of every request, in order. */
  requests: Array<{ path: string; headers: IncomingHttpHeaders }>;
  /** Ironic's start_console side: a fresh token (secrets.token_urlsafe()); returns the console URL. */
  enable(node: string): string;
  /** Ironic's stop_console side: console off, token cleared. */
  disable(node: string): void;
  consoleUrl(node: string): string;
  /** 'down': connections are dropped without an answer; 'refuse-auth': every request gets 401. */
  mode: 'ok' | 'down' | 'refuse-auth';
  close(): Promise<void>;
}

export async function startFakeIronic(
  opts: { basicAuth?: { username: string; password: string } } = {},
): Promise<FakeIronic> {
  const nodes = new Map<string, FakeIronicNode>();
  const expectedAuth = opts.basicAuth
    ? `Basic ${Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString('base64')}`
    : undefined;
  const ironic: FakeIronic = {
    url: '',
    publicUrl: 'http://127.0.0.1:6090/vnc_auto.html',
    nodes,
    requests: [],
    mode: 'ok',
    enable(node) {
      nodes.set(node, { consoleEnabled: true, token: randomBytes(32).toString('base64url') });
      return ironic.consoleUrl(node);
    },
    disable(node) {
      nodes.set(node, { consoleEnabled: false, token: undefined });
    },
    consoleUrl(node) {
      // Python's parse.quote (safe '/') and encodeURIComponent agree on these characters.
      return `${ironic.publicUrl}?path=${encodeURIComponent(`websockify?node=${node}&token=${nodes.get(node)?.token}`)}`;
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
  const server: Server = createServer((req, res) => {
    ironic.requests.push({ path: req.url ?? '', headers: req.headers });
    if (ironic.mode === 'down') return void req.socket.destroy();
    const send = (status: number, o: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(o));
    };
    if (ironic.mode === 'refuse-auth' || (expectedAuth !== undefined && req.headers.authorization !== expectedAuth))
      return send(401, { error_message: 'Unauthorized' });
    if (!req.headers['x-openstack-ironic-api-version']) return send(406, { error_message: 'no version' });
    const m = /^\/v1\/nodes\/([^/]+)\/states\/console$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !m) return send(404, { error_message: 'not found' });
    const id = decodeURIComponent(m[1]!);
    const node = nodes.get(id);
    if (!node) return send(404, { error_message: JSON.stringify({ faultstring: `Node ${id} could not be found.` }) });
    if (!node.consoleEnabled) return send(200, { console_enabled: false, console_info: null });
    send(200, { console_enabled: true, console_info: { type: 'vnc', url: ironic.consoleUrl(id) } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ironic.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return ironic;
}
