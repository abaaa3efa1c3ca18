import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { scrubSecrets, type Logger } from '../log.js';
import { RedfishError, isRedfishError } from './error.js';
import { odataId, resolveRedfishPath, trimSlashes, type RedfishResource, type RedfishSource } from './source.js';
import { trustOptions } from './trust.js';

/** Ironic's `redfish_auth_type`: session with Basic fallback (auto), or one of them only. */
export type RedfishAuthType = 'auto' | 'session' | 'basic';

export interface RedfishClientOptions {
  /** scheme://host[:port] of the BMC, without user info or path ("https://10.0.0.5"). */
  origin: string;
  /** Path of the service root, default "/redfish/v1". */
  rootPrefix?: string;
  /** Empty or absent: anonymous; only the service root is readable then. */
  username?: string;
  password?: string;
  /** true: system trust store; false: no verification; string: path of a CA bundle (that bundle only). Default true. */
  verifyCa?: boolean | string;
  auth?: RedfishAuthType;
  /** Whole-request deadline (connect, TLS, answer, body) in ms. Default 30 s: BMCs are slow, not dead. */
  timeoutMs?: number;
  log?: Logger;
}

export interface RequestOptions {
  /** Cancels the request (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Send credentials; default: for everything but the service root. */
  auth?: boolean;
}

export interface RedfishResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or null for an empty body. */
  body: unknown;
  /** The URL that answered (after same-host redirects). */
  url: string;
}

const MAX_REDIRECTS = 5;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Error codes Node/OpenSSL use for handshake and certificate failures. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_SOCKET_CLOSED',
]);

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A Redfish client for one BMC: HTTPS honouring verify_ca, a deadline per request, session login
 * (POST SessionService/Sessions -> X-Auth-Token) with Basic fallback, re-login once when a session expires, and
 * typed errors (RedfishError) that never contain the password or the session token.
 */
export class RedfishClient implements RedfishSource {
  readonly location: string;
  readonly rootPath: string;
  readonly hasCredentials: boolean;
  private readonly origin: URL;
  private readonly username: string;
  private readonly password: string;
  private readonly authType: RedfishAuthType;
  private readonly timeoutMs: number;
  private readonly log: Logger | undefined;
  private readonly agent: http.Agent;
  private session: { token: string; path: string | undefined } | undefined;
  private basic = false;
  private loggingIn: Promise<void> | undefined;

  constructor(options: RedfishClientOptions) {
    this.origin = parseOrigin(options.origin);
    this.location = this.origin.origin;
    this.rootPath = trimSlashes(options.rootPrefix?.trim() || '/redfish/v1');
    if (!this.rootPath.startsWith('/'))
      throw new TypeError(`rootPrefix: expected a path starting with "/", got "${options.rootPrefix}"`);
    this.username = options.username ?? '';
    this.password = options.password ?? '';
    this.hasCredentials = this.username !== '';
    this.authType = options.auth ?? 'auto';
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!(this.timeoutMs > 0))
      throw new TypeError(`timeoutMs: expected a positive number of milliseconds, got ${options.timeoutMs}`);
    this.log = options.log;
    this.agent =
      this.origin.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 4, ...trustOptions(options.verifyCa ?? true, this.location) })
        : new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  /** How requests authenticate right now: 'session' after a login, 'basic' after a fallback, else 'none'. */
  get authMode(): 'none' | 'session' | 'basic' {
    return this.session ? 'session' : this.basic ? 'basic' : 'none';
  }

  /** GET a resource; it must be a JSON object. Paths as in RedfishSource.get. */
  async get(path: string, options: RequestOptions = {}): Promise<RedfishResource> {
    const res = await this.request('GET', path, undefined, options);
    if (res.body === null || typeof res.body !== 'object' || Array.isArray(res.body)) {
      throw new RedfishError(
        'protocol',
        res.url,
        `expected a JSON object, got ${res.body === null ? 'an empty body' : Array.isArray(res.body) ? 'an array' : typeof res.body}`,
        { status: res.status },
      );
    }
    return res.body as RedfishResource;
  }

  post(path: string, body: unknown, options: RequestOptions = {}): Promise<RedfishResponse> {
    return this.request('POST', path, body, options);
  }

  patch(path: string, body: unknown, options: RequestOptions = {}): Promise<RedfishResponse> {
    return this.request('PATCH', path, body, options);
  }

  delete(path: string, options: RequestOptions = {}): Promise<RedfishResponse> {
    return this.request('DELETE', path, undefined, options);
  }

  /** Any method; rejects with RedfishError unless the BMC answers 2xx. Logs in first when needed. */
  async request(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<RedfishResponse> {
    const url = this.url(path);
    const auth = options.auth ?? !this.isServiceRoot(url);
    if (auth && this.hasCredentials && this.authMode === 'none') await this.login(options.signal);
    try {
      return await this.exchange(method, url, body, { auth, signal: options.signal });
    } catch (err) {
      // A session that timed out on the BMC side: log in again, once.
      if (auth && this.session && isRedfishError(err, 'auth') && err.status === 401) {
        this.log?.debug({ url: err.url }, 'redfish session rejected; logging in again');
        this.session = undefined;
        await this.login(options.signal);
        return this.exchange(method, url, body, { auth, signal: options.signal });
      }
      throw err;
    }
  }

  /**
   * Creates a Redfish session (X-Auth-Token). With auth 'auto', a BMC without SessionService (404/405/501, or no
   * token in the answer) is used with Basic auth instead. Wrong credentials reject with kind 'auth'.
   */
  login(signal?: AbortSignal): Promise<void> {
    this.loggingIn ??= this.createSession(signal).finally(() => {
      this.loggingIn = undefined;
    });
    return this.loggingIn;
  }

  /** Deletes the session on the BMC (frees one of its few session slots). Never throws; true if one was deleted. */
  async logout(signal?: AbortSignal): Promise<boolean> {
    const session = this.session;
    this.session = undefined;
    this.basic = false;
    if (!session?.path) return false;
    try {
      await this.exchange('DELETE', this.url(session.path), undefined, {
        auth: false,
        signal,
        headers: { 'X-Auth-Token': session.token },
        credentialed: true,
      });
      return true;
    } catch (err) {
      this.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'redfish logout failed');
      return false;
    }
  }

  /** Closes idle keep-alive connections. The client stays usable. */
  close(): void {
    this.agent.destroy();
  }

  private async createSession(signal?: AbortSignal): Promise<void> {
    if (!this.hasCredentials)
      throw new RedfishError('auth', this.location, 'no user name given for an authenticated request');
    if (this.authType === 'basic') {
      this.basic = true;
      return;
    }
    const url = this.url(`${this.rootPath}/SessionService/Sessions`);
    let res: RedfishResponse;
    try {
      res = await this.exchange(
        'POST',
        url,
        { UserName: this.username, Password: this.password },
        { auth: false, signal, credentialed: true },
      );
    } catch (err) {
      if (
        this.authType === 'auto' &&
        isRedfishError(err) &&
        (err.kind === 'protocol' || (err.kind === 'http' && [404, 405, 501].includes(err.status ?? 0)))
      ) {
        this.log?.debug({ url: err.url, status: err.status }, 'no usable SessionService; using Basic auth');
        this.basic = true;
        return;
      }
      throw err;
    }
    const token = headerValue(res.headers['x-auth-token']);
    if (!token) {
      if (this.authType === 'auto') {
        this.basic = true;
        return;
      }
      throw new RedfishError('protocol', res.url, 'session created but the answer has no X-Auth-Token header', {
        status: res.status,
      });
    }
    const where = headerValue(res.headers.location) ?? odataId(res.body);
    this.session = { token, path: where ? new URL(where, res.url).pathname : undefined };
    this.log?.debug({ url: res.url, session: this.session.path }, 'redfish session created');
  }

  private url(path: string): URL {
    if (/^https?:\/\//i.test(path)) {
      const u = new URL(path);
      if (u.origin !== this.location)
        throw new RedfishError(
          'protocol',
          `${u.origin}${u.pathname}`,
          `refusing a URL outside the BMC ${this.location}`,
        );
      return u;
    }
    return new URL(resolveRedfishPath(this.rootPath, path), this.origin);
  }

  private isServiceRoot(url: URL): boolean {
    return trimSlashes(url.pathname) === this.rootPath;
  }

  private authHeaders(): Record<string, string> {
    if (this.session) return { 'X-Auth-Token': this.session.token };
    if (this.basic && this.hasCredentials) {
      return { Authorization: `Basic ${Buffer.from(`${this.username}:${this.password}`, 'utf8').toString('base64')}` };
    }
    return {};
  }

  /** One request with same-host redirects followed; maps the answer onto RedfishResponse or RedfishError. */
  private async exchange(
    method: string,
    url: URL,
    body: unknown,
    opts: { auth: boolean; signal?: AbortSignal | undefined; headers?: Record<string, string>; credentialed?: boolean },
  ): Promise<RedfishResponse> {
    const { auth, signal } = opts;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    let current = url;
    let currentMethod = method;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = {
        Accept: 'application/json',
        'OData-Version': '4.0',
        'User-Agent': 'bmc-console',
        ...(auth ? this.authHeaders() : {}),
        ...opts.headers,
      };
      const sendBody = currentMethod === 'GET' || currentMethod === 'HEAD' ? undefined : payload;
      if (sendBody) headers['Content-Type'] = 'application/json';
      const raw = await this.send(currentMethod, current, headers, sendBody, signal);
      this.log?.debug({ method: currentMethod, url: shown(current), status: raw.status }, 'redfish');
      const location = headerValue(raw.headers.location);
      if (raw.status >= 300 && raw.status < 400 && location) {
        const next = new URL(location, current);
        if (
          next.hostname.toLowerCase() !== current.hostname.toLowerCase() ||
          (current.protocol === 'https:' && next.protocol !== 'https:')
        ) {
          throw new RedfishError(
            'protocol',
            shown(current),
            `redirect to another host refused (HTTP ${raw.status} to ${next.protocol}//${next.host})`,
            { status: raw.status },
          );
        }
        if (hop >= MAX_REDIRECTS)
          throw new RedfishError('protocol', shown(current), `more than ${MAX_REDIRECTS} redirects`, {
            status: raw.status,
          });
        if (raw.status === 303) currentMethod = 'GET';
        current = next;
        continue;
      }
      return this.interpret(current, raw, auth || opts.credentialed === true);
    }
  }

  /** `credentialed`: this request carried credentials (headers, or the session login body). */
  private interpret(url: URL, raw: RawResponse, credentialed: boolean): RedfishResponse {
    const where = shown(url);
    const parsed = parseJsonBody(raw);
    if (raw.status === 401 || raw.status === 403) {
      const why =
        !credentialed || !this.hasCredentials
          ? 'authentication required and no credentials were sent'
          : raw.status === 401
            ? 'the BMC rejected the user name or password'
            : 'the account is not allowed to do this';
      throw new RedfishError('auth', where, `${why} (HTTP ${raw.status})${this.messageSuffix(parsed)}`, {
        status: raw.status,
      });
    }
    if (raw.status < 200 || raw.status >= 300) {
      throw new RedfishError('http', where, `HTTP ${raw.status}${this.messageSuffix(parsed)}`, { status: raw.status });
    }
    if (parsed.kind === 'html') {
      throw new RedfishError(
        'protocol',
        where,
        `expected JSON, got an HTML page (Content-Type ${parsed.contentType || 'none'}): is this a Redfish service?`,
        { status: raw.status },
      );
    }
    if (parsed.kind === 'junk') {
      throw new RedfishError(
        'protocol',
        where,
        `expected JSON, got ${raw.body.length} bytes that do not parse (starting "${this.scrub(parsed.snippet)}")`,
        { status: raw.status },
      );
    }
    return { status: raw.status, headers: raw.headers, body: parsed.kind === 'json' ? parsed.value : null, url: where };
  }

  private messageSuffix(parsed: ParsedBody): string {
    const msg = parsed.kind === 'json' ? redfishMessage(parsed.value) : undefined;
    return msg ? `: ${this.scrub(msg)}` : '';
  }

  private scrub(text: string): string {
    return scrubSecrets(text, [this.password, this.session?.token]);
  }

  private send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Buffer | undefined,
    signal?: AbortSignal,
  ): Promise<RawResponse> {
    const where = shown(url);
    return new Promise<RawResponse>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const lib = url.protocol === 'https:' ? https : http;
      const req = lib.request(url, {
        method,
        headers: body ? { ...headers, 'Content-Length': String(body.length) } : headers,
        agent: this.agent,
      });
      let settled = false;
      const finish = (err: unknown, res?: RawResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined && res) resolve(res);
        else {
          req.destroy();
          reject(err);
        }
      };
      const timer = setTimeout(
        () =>
          finish(new RedfishError('unreachable', where, `no complete answer within ${this.timeoutMs} ms (timeout)`)),
        this.timeoutMs,
      );
      const onAbort = () => finish(abortReason(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish(classify(err, where)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES)
            finish(
              new RedfishError('protocol', where, `answer larger than ${MAX_BODY_BYTES} bytes`, {
                status: res.statusCode,
              }),
            );
          else chunks.push(chunk);
        });
        res.on('error', (err) => finish(classify(err, where)));
        res.on('end', () =>
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('close', () => {
          if (!res.complete)
            finish(new RedfishError('unreachable', where, 'connection closed in the middle of the answer'));
        });
      });
      req.end(body);
    });
  }
}

/** Factory in the shape of BmcTarget (image/src/vendor-script.ts), plus client tuning. */
export function createRedfishClient(
  target: { origin: string; rootPrefix?: string; username?: string; password?: string; verifyCa?: boolean | string },
  extra: Pick<RedfishClientOptions, 'auth' | 'timeoutMs' | 'log'> = {},
): RedfishClient {
  return new RedfishClient({ ...target, ...extra });
}

function parseOrigin(origin: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(origin) ? origin : `https://${origin}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new TypeError(`origin: expected scheme://host[:port], got "${origin.replace(/\/\/[^@/]*@/, '//…@')}"`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new TypeError(`origin: expected an https:// (or http://) URL, got ${u.protocol}`);
  if (u.username || u.password)
    throw new TypeError('origin: must not contain user info; pass username/password separately');
  return u;
}

/** URL as shown in errors and logs: no user info (never present), no fragment. */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}${url.search}`;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

type ParsedBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'empty' }
  | { kind: 'html'; contentType: string }
  | { kind: 'junk'; snippet: string };

function parseJsonBody(raw: RawResponse): ParsedBody {
  const text = raw.body.toString('utf8').replace(/^\uFEFF/, '');
  const contentType = headerValue(raw.headers['content-type']) ?? '';
  if (text.trim() === '') return { kind: 'empty' };
  if (/html/i.test(contentType) || /^\s*</.test(text)) return { kind: 'html', contentType };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'junk', snippet: text.slice(0, 40).replace(/[^\x20-\x7e]/g, '.') };
  }
}

/** The human message of a Redfish error body: error.message plus the first extended info message. */
function redfishMessage(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const error = (body as Record<string, unknown>).error;
  if (!error || typeof error !== 'object') return undefined;
  const e = error as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof e.message === 'string') parts.push(e.message);
  const info = e['@Message.ExtendedInfo'];
  if (Array.isArray(info)) {
    const first = info[0] as Record<string, unknown> | undefined;
    if (first && typeof first.Message === 'string' && first.Message !== e.message) parts.push(first.Message);
  }
  const text = parts.join(' - ').replace(/\s+/g, ' ').trim();
  return text === '' ? undefined : text.slice(0, 300);
}

function abortReason(signal: AbortSignal | undefined): unknown {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

function classify(err: unknown, where: string): RedfishError {
  if (err instanceof RedfishError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const message = e?.message ?? String(err);
  const tls = () =>
    new RedfishError('tls', where, `TLS failed: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`, {
      cause: err,
    });
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return tls();
  // A reset during the handshake is a BMC going away, not a certificate problem: checked before the text match.
  if (UNREACHABLE_CODES.has(code)) {
    const what =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host name not found'
          : code === 'ECONNRESET'
            ? 'connection reset'
            : message;
    return new RedfishError('unreachable', where, `${what} (${code})`, { cause: err });
  }
  if (/certificate|ssl|tls/i.test(message)) return tls();
  return new RedfishError('unreachable', where, message, { cause: err });
}
