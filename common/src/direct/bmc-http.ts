import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { BmcTlsOptions } from './tls-options.js';

export interface BmcResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Set-Cookie values by cookie name. */
  cookies: Record<string, string>;
  body: string;
}

export interface BmcRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** A path on the BMC's address, or an absolute URL on the same BMC (a Redfish Location). */
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
}

// BMC answers the login dialects need are small; a bigger one is not a BMC we understand.
const MAX_BODY = 1024 * 1024;

function parseCookies(setCookie: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of setCookie ?? []) {
    const pair = line.split(';', 1)[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/**
 * One HTTP(S) request to the BMC. Errors carry the method, path and cause only: never headers (credentials,
 * cookies) or the body.
 */
export function bmcRequest(base: string, tls: BmcTlsOptions, timeoutMs: number, req: BmcRequest): Promise<BmcResponse> {
  const url = new URL(req.path, base);
  const body = req.json === undefined ? undefined : Buffer.from(JSON.stringify(req.json));
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  if (body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  const what = `${req.method} ${url.pathname}`;
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const r = send(url, { method: req.method, headers, ...tls, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) res.destroy(new Error(`answer larger than ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('error', (e) => reject(new Error(`${what}: ${e.message}`)));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          cookies: parseCookies(res.headers['set-cookie']),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    r.on('error', (e) => reject(new Error(`${what} failed: ${e.message}`)));
    r.end(body);
  });
}

/** The JSON body, or undefined when it is not JSON. */
export function jsonOf(res: BmcResponse): unknown {
  try {
    return JSON.parse(res.body) as unknown;
  } catch {
    return undefined;
  }
}
