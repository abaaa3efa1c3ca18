import { randomBytes, randomInt } from 'node:crypto';

export type SessionKind = 'redfish' | 'web';

/** A Redfish or web-UI login session of the emulated BMC. */
export interface Session {
  id: string;
  kind: SessionKind;
  /** The secret the client presents (X-Auth-Token, session cookie value, sessionKey, Bearer token). */
  token: string;
  /** CSRF token tied to the session where the vendor uses one. */
  csrf: string;
  user: string;
  created: number;
  lastUsed: number;
}

/** A one-shot console ticket (Dell VCSID pair, Lenovo console token, Supermicro IKVM URI, AMI viewer token). */
export interface Ticket { key: string; secret: string; created: number; used: boolean }

export interface KvmSession { id: number; vendorPath: string; started: number; status: 'ok' | 'shared' }

export function hexToken(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

export function digits(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(randomInt(10));
  return s;
}

/** Everything the emulator remembers; tests read a snapshot through state() or GET /__emulator/state. */
export class EmulatorState {
  readonly sessions = new Map<string, Session>();
  readonly tickets = new Map<string, Ticket>();
  readonly kvm = new Map<number, KvmSession>();
  typed = '';
  keys: string[] = [];
  clicks: { x: number; y: number }[] = [];
  logouts: { kind: SessionKind | 'kvm'; how: string; at: number }[] = [];
  logins = { ok: 0, failed: 0 };
  expired = 0;
  private nextSessionId = 1;
  private nextKvmId = 1;

  constructor(private readonly sessionTimeoutMs: () => number | undefined) {}

  createSession(kind: SessionKind, user: string, token = hexToken()): Session {
    const now = Date.now();
    const s: Session = { id: String(this.nextSessionId++), kind, token, csrf: hexToken(), user, created: now, lastUsed: now };
    this.sessions.set(s.id, s);
    return s;
  }

  /** Finds a live session by token and refreshes its idle clock; expired ones are dropped here. */
  findByToken(token: string | undefined, kinds: SessionKind[]): Session | undefined {
    if (!token) return undefined;
    for (const s of this.sessions.values()) {
      if (s.token !== token || !kinds.includes(s.kind)) continue;
      if (this.isExpired(s)) {
        this.sessions.delete(s.id);
        this.expired++;
        return undefined;
      }
      s.lastUsed = Date.now();
      return s;
    }
    return undefined;
  }

  findById(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (s && this.isExpired(s)) {
      this.sessions.delete(s.id);
      this.expired++;
      return undefined;
    }
    return s;
  }

  private isExpired(s: Session): boolean {
    const t = this.sessionTimeoutMs();
    return t !== undefined && Date.now() - s.lastUsed > t;
  }

  endSession(s: Session, how: string): void {
    if (this.sessions.delete(s.id)) this.logouts.push({ kind: s.kind, how, at: Date.now() });
  }

  count(kind: SessionKind): number {
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (s.kind !== kind) continue;
      if (this.isExpired(s)) {
        this.sessions.delete(s.id);
        this.expired++;
      } else n++;
    }
    return n;
  }

  issueTicket(key: string, secret: string): Ticket {
    const t: Ticket = { key, secret, created: Date.now(), used: false };
    this.tickets.set(key, t);
    return t;
  }

  /** One-shot: a ticket opens one console and is then spent. Tickets older than 5 min are void. */
  redeemTicket(key: string | null | undefined, secret?: string | null): boolean {
    if (!key) return false;
    const t = this.tickets.get(key);
    if (!t || t.used || Date.now() - t.created > 300_000) return false;
    if (secret !== undefined && t.secret !== secret) return false;
    t.used = true;
    return true;
  }

  /** Spends a ticket and returns it (its secret is checked later, e.g. in the iDRAC socket handshake). */
  takeTicket(key: string | null | undefined): Ticket | undefined {
    if (!key || !this.ticketValid(key)) return undefined;
    const t = this.tickets.get(key);
    if (t) t.used = true;
    return t;
  }

  /** Checks a ticket without spending it (the viewer page checks, its socket spends). */
  ticketValid(key: string | null | undefined, secret?: string | null): boolean {
    if (!key) return false;
    const t = this.tickets.get(key);
    if (!t || t.used || Date.now() - t.created > 300_000) return false;
    return secret === undefined || t.secret === secret;
  }

  openKvm(vendorPath: string, status: KvmSession['status']): KvmSession {
    const k: KvmSession = { id: this.nextKvmId++, vendorPath, started: Date.now(), status };
    this.kvm.set(k.id, k);
    return k;
  }

  closeKvm(k: KvmSession): void {
    if (this.kvm.delete(k.id)) this.logouts.push({ kind: 'kvm', how: k.vendorPath, at: Date.now() });
  }

  liveKvm(): number {
    let n = 0;
    for (const k of this.kvm.values()) if (k.status === 'ok') n++;
    return n;
  }

  recordKey(key: string): void {
    this.keys.push(key);
    if (key === 'Enter') this.typed += '\n';
    else if (key === 'Backspace') this.typed = this.typed.slice(0, -1);
    else if ([...key].length === 1) this.typed += key;
  }

  recordClick(x: number, y: number): void {
    this.clicks.push({ x: Math.round(x), y: Math.round(y) });
  }
}
