/**
 * HTTP access to recordings: GET /api/recordings?node=N&token=T lists that node's recordings, GET
 * /api/recordings/<id>?node=N&token=T returns one verified file; a console token of the node (any role) opens its
 * recordings, `Authorization: Bearer <admin token>` opens all.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ViewerRole } from '@bmc-console/common/contracts/agent-api';
import { NODE_ID_PATTERN } from '@bmc-console/common/contracts/node-id';
import type { Logger } from '@bmc-console/common/log';
import type { TokenVerifier } from '../token-verifier.js';
import { parseRecordingId, RecordingError } from './recording-format.js';
import { verifyRecordingFile } from './recording-reader.js';
import type { RecordingStore } from './recording-store.js';

// The same shape rule as the websocket's token (server.ts): anything else is refused before the agent is asked.
const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{8,512}$/;
const PREFIX = '/api/recordings';

export interface RecordingRoutesDeps {
  store: RecordingStore;
  /** The HMAC key, or a getter that reads it when a file is first fetched (throws when there is none). */
  key: Buffer | (() => Buffer);
  verifier: TokenVerifier;
  adminToken?: string;
  /** Roles of console links that may list and fetch their node's recordings (the rest: 403). */
  replayRoles?: readonly ViewerRole[];
  /** The proxy's failed-token budget (these routes are a token oracle too) and how it names a request's source. */
  failedTokens?: { allowed(source: string): boolean; failed(source: string): void };
  sourceOf?: (req: IncomingMessage) => string;
  log?: Logger;
}

type Scope = { admin: true } | { admin: false; node: string };

/** Reads the admin token file (one trailing newline ignored); the error names the option, never the token. */
export function readAdminToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`recordings.adminTokenFile: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const token = text.replace(/\r?\n$/, '');
  if (token.length < 16 || /\s/.test(token))
    throw new Error(`recordings.adminTokenFile: ${file} must hold one token of 16 or more characters, no spaces`);
  return token;
}

/** Returns a handler that answers /api/recordings[/<id>] (true) and leaves every other path alone (false). */
export function recordingRoutes(
  deps: RecordingRoutesDeps,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const adminDigest = deps.adminToken !== undefined ? sha256(deps.adminToken) : undefined;
  const sourceOf = deps.sourceOf ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown');
  const key = () => (typeof deps.key === 'function' ? deps.key() : deps.key);

  const json = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  };

  /** Who may see what, or an answer already sent. */
  async function authorize(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Scope | undefined> {
    const source = sourceOf(req);
    if (deps.failedTokens && !deps.failedTokens.allowed(source)) {
      json(req, res, 429, { error: 'too many failed token checks from this address, try again later' });
      return undefined;
    }
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer (\S+)$/.exec(auth);
      if (adminDigest && m && timingSafeEqual(sha256(m[1] as string), adminDigest)) return { admin: true };
      deps.failedTokens?.failed(source);
      deps.log?.warn({ event: 'recordings-refused', source, reason: 'admin-token' }, 'recordings: admin token refused');
      json(req, res, 403, { error: 'admin token refused' });
      return undefined;
    }
    const node = url.searchParams.get('node') ?? '';
    const token = url.searchParams.get('token') ?? '';
    if (!NODE_ID_PATTERN.test(node) || !TOKEN_RE.test(token)) {
      if (node !== '' || token !== '') deps.failedTokens?.failed(source);
      json(req, res, 400, { error: 'query parameters node and token are required (or an admin token)' });
      return undefined;
    }
    let result;
    try {
      result = await deps.verifier.verify(node, token);
    } catch (err) {
      deps.log?.warn({ node, err: (err as Error).message }, 'recordings: token service unavailable');
      json(req, res, 503, { error: 'token service unavailable, try again' });
      return undefined;
    }
    const reason = !result.ok ? result.reason : result.target.expiresAt.getTime() <= Date.now() ? 'expired' : undefined;
    if (reason !== undefined) {
      deps.failedTokens?.failed(source);
      deps.log?.warn({ event: 'recordings-refused', node, source, reason }, 'recordings: token refused');
      json(req, res, 403, { error: `token ${reason}` });
      return undefined;
    }
    const role = result.ok ? result.target.role : 'control';
    if (!(deps.replayRoles ?? ['control']).includes(role)) {
      deps.log?.warn({ event: 'recordings-refused', node, source, reason: 'role', role }, 'recordings: role refused');
      json(req, res, 403, { error: `a ${role} link may not replay recordings on this proxy (recordings.replayRoles)` });
      return undefined;
    }
    return { admin: false, node };
  }

  async function fetchOne(req: IncomingMessage, res: ServerResponse, scope: Scope, id: string): Promise<void> {
    const notFound = () => json(req, res, 404, { error: `no recording ${id}` });
    const path = deps.store.pathOf(id);
    // A recording of another node is "not found" too: a token must not learn what other nodes have.
    if (path === undefined || (!scope.admin && parseRecordingId(id)?.node !== scope.node)) return notFound();
    if (deps.store.open.has(id)) return json(req, res, 409, { error: `recording ${id} is still being written` });
    let header;
    try {
      header = await verifyRecordingFile(path, key());
    } catch (err) {
      if (err instanceof RecordingError) {
        if (err.problem === 'unreadable' && /ENOENT/.test(err.detail)) return notFound();
        deps.log?.warn({ event: 'recording-invalid', id, problem: err.problem }, err.message);
        return json(req, res, 422, { error: `recording ${id}: ${err.detail}`, problem: err.problem });
      }
      throw err;
    }
    if (!scope.admin && header.node !== scope.node) return notFound();
    const size = (await stat(path)).size;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': size,
      'content-disposition': `attachment; filename="${id}.bmcrec"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(createReadStream(path), res);
  }

  return async (req, res) => {
    const rawUrl = req.url ?? '/';
    if (rawUrl.startsWith('//')) return false;
    const url = new URL(rawUrl, 'http://proxy.invalid');
    const rest =
      url.pathname === PREFIX
        ? ''
        : url.pathname.startsWith(`${PREFIX}/`)
          ? url.pathname.slice(PREFIX.length + 1)
          : undefined;
    if (rest === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(req, res, 405, { error: 'method not allowed' });
      return true;
    }
    const scope = await authorize(req, res, url);
    if (!scope) return true;
    if (rest === '') {
      const recordings = await deps.store.list(scope.admin ? {} : { node: scope.node });
      json(req, res, 200, { recordings: scope.admin ? recordings : recordings.filter((r) => r.node === scope.node) });
      return true;
    }
    let id: string;
    try {
      id = decodeURIComponent(rest);
    } catch {
      id = rest;
    }
    await fetchOne(req, res, scope, id);
    return true;
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
