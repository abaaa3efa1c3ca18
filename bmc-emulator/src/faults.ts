import { normalisePath, sendJson, type Req, type Res } from './http.js';

/** Fault modes; every field can be changed at run time through POST /__emulator/control. */
export interface Faults {
  /** Every login fails as if the password were wrong. */
  wrongPassword: boolean;
  /** Sessions (Redfish and web) expire after this many idle seconds. */
  sessionTimeoutS: number | undefined;
  /** Delay before every HTTP response, in ms. */
  slowMs: number;
  /** Exact paths (trailing slash ignored) that answer HTTP 500. */
  failPaths: string[];
  /** Connections are accepted and reset at once. */
  down: boolean;
  /** Every KVM attempt finds the console held by someone else. */
  kvmBusy: boolean;
}

export function defaultFaults(): Faults {
  return { wrongPassword: false, sessionTimeoutS: undefined, slowMs: 0, failPaths: [], down: false, kvmBusy: false };
}

/** Applies the per-request faults (delay, forced 500). True when the response was already sent. */
export async function applyRequestFaults(f: Faults, req: Req, res: Res): Promise<boolean> {
  if (f.slowMs > 0) await new Promise((r) => setTimeout(r, f.slowMs));
  if (f.failPaths.some((p) => normalisePath(p) === req.path)) {
    sendJson(res, 500, {
      error: {
        code: 'Base.1.8.InternalError',
        message: `The request failed due to an internal service error (emulator fault --fail-path ${req.path}).`,
      },
    });
    return true;
  }
  return false;
}

/** Validates and merges a control request body into the faults; throws naming the bad field. */
export function mergeFaults(f: Faults, body: unknown): void {
  if (typeof body !== 'object' || body === null) throw new Error('control: body must be a JSON object');
  const b = body as Record<string, unknown>;
  const bool = (k: keyof Faults) => {
    if (b[k] === undefined) return;
    if (typeof b[k] !== 'boolean') throw new Error(`control: ${k} must be true or false`);
    (f as unknown as Record<string, unknown>)[k] = b[k];
  };
  bool('wrongPassword');
  bool('down');
  bool('kvmBusy');
  if (b.slowMs !== undefined) {
    if (typeof b.slowMs !== 'number' || b.slowMs < 0) throw new Error('control: slowMs must be a number >= 0');
    f.slowMs = b.slowMs;
  }
  if (b.sessionTimeoutS !== undefined) {
    if (b.sessionTimeoutS !== null && (typeof b.sessionTimeoutS !== 'number' || b.sessionTimeoutS <= 0))
      throw new Error('control: sessionTimeoutS must be a number > 0 or null');
    f.sessionTimeoutS = b.sessionTimeoutS ?? undefined;
  }
  if (b.failPaths !== undefined) {
    if (!Array.isArray(b.failPaths) || !b.failPaths.every((p) => typeof p === 'string' && p.startsWith('/')))
      throw new Error('control: failPaths must be an array of paths starting with /');
    f.failPaths = b.failPaths as string[];
  }
}
