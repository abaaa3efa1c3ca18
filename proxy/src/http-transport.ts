import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** A request that got no usable answer; `transient` ones (no answer, refused, reset, timeout) are worth asking again. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export interface TransportOptions {
  /** Names the service in error messages, e.g. "Ironic" or "the agent". */
  service: string;
  /** How long one request may take. */
  timeoutMs: number;
  /** Extra CA certificates (PEM) for an https base URL. */
  ca?: Buffer;
  /** Largest answer body read; a larger one fails the request. */
  maxAnswerBytes?: number;
}

export interface Answer {
  status: number;
  body: string;
}

/**
 * Small text requests to one HTTP service at `baseUrl` (http(s)://host:port[/prefix] or unix:/path.sock), over
 * kept-alive connections. Error messages name the service's URL and the cause, never a header (they carry secrets).
 */
export class HttpTransport {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
  private readonly httpsAgent: HttpsAgent;
  private readonly maxAnswerBytes: number;
  /** "Ironic at http://..." for error messages. */
  readonly where: string;

  constructor(
    readonly baseUrl: string,
    private readonly opts: TransportOptions,
  ) {
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32, ...(opts.ca ? { ca: opts.ca } : {}) });
    this.maxAnswerBytes = opts.maxAnswerBytes ?? 64 * 1024;
    this.where = `${opts.service} at ${baseUrl}`;
  }

  request(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let options: RequestOptions;
      let useHttps = false;
      if (this.baseUrl.startsWith('unix:')) {
        options = { socketPath: this.baseUrl.slice('unix:'.length), path, agent: this.httpAgent };
      } else {
        const u = new URL(this.baseUrl);
        useHttps = u.protocol === 'https:';
        options = {
          hostname: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port || (useHttps ? 443 : 80),
          path: `${u.pathname.replace(/\/$/, '')}${path}`,
          agent: useHttps ? this.httpsAgent : this.httpAgent,
        };
      }
      const req = (useHttps ? httpsRequest : httpRequest)(
        {
          ...options,
          method,
          headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
          timeout: this.opts.timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
            if (text.length > this.maxAnswerBytes)
              req.destroy(new TransportError(`${this.where} answered more than ${this.maxAnswerBytes} bytes`, false));
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', (e) =>
            reject(
              e instanceof TransportError
                ? e
                : new TransportError(`the answer from ${this.where} failed: ${e.message}`, true),
            ),
          );
        },
      );
      req.on('timeout', () =>
        req.destroy(new TransportError(`no answer from ${this.where} within ${this.opts.timeoutMs} ms`, true)),
      );
      req.on('error', (e) =>
        reject(e instanceof TransportError ? e : new TransportError(`cannot reach ${this.where}: ${e.message}`, true)),
      );
      req.end(body);
    });
  }

  /** Closes idle kept-alive connections (the proxy is shutting down). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Runs `fn`, asking again after each delay while it fails with a transient TransportError. */
export async function withRetries<T>(delaysMs: readonly number[], fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = delaysMs[attempt];
      if (!(err instanceof TransportError) || !err.transient || delay === undefined) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
