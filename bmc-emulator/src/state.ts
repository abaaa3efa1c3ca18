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
  /** The launch path a console opened with this session counts as (vendor UIs set it; see Profile.launch). */
  launch?: string;
}

/** A one-shot console ticket (Dell VCSID pair, Lenovo console token, Supermicro IKVM URI, AMI viewer token). */
export interface Ticket {
  key: string;
  secret: string;
  created: number;
  used: boolean;
  /** The launch path that handed the ticket out (e.g. kvm-action for a Redfish console action). */
  launch?: string;
}

export interface KvmSession {
  id: number;
  vendorPath: string;
  started: number;
  status: 'ok' | 'shared';
  launch: string;
}

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
  /** The launch path of every console that got video, in order (tests compare it with the profile's primary). */
  launches: string[] = [];
  expired = 0;
  /** The hosts behind the BMC by lower-case ComputerSystem Id, made on first use. */
  readonly hosts = new Map<string, HostSystem>();
  private nextSessionId = 1;
  private nextKvmId = 1;

  constructor(private readonly sessionTimeoutMs: () => number | undefined) {}

  createSession(kind: SessionKind, user: string, token = hexToken()): Session {
    const now = Date.now();
    const s: Session = {
      id: String(this.nextSessionId++),
      kind,
      token,
      csrf: hexToken(),
      user,
      created: now,
      lastUsed: now,
    };
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

  issueTicket(key: string, secret: string, launch?: string): Ticket {
    const t: Ticket = { key, secret, created: Date.now(), used: false, ...(launch ? { launch } : {}) };
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

  openKvm(vendorPath: string, status: KvmSession['status'], launch = 'unknown'): KvmSession {
    const k: KvmSession = { id: this.nextKvmId++, vendorPath, started: Date.now(), status, launch };
    this.kvm.set(k.id, k);
    if (status === 'ok') this.launches.push(launch);
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

  host(id: string, make: () => HostSystem): HostSystem {
    const key = id.toLowerCase();
    let h = this.hosts.get(key);
    if (!h) {
      h = make();
      this.hosts.set(key, h);
    }
    return h;
  }

  recordClick(x: number, y: number): void {
    this.clicks.push({ x: Math.round(x), y: Math.round(y) });
  }
}

export type PowerState = 'On' | 'Off' | 'PoweringOn' | 'PoweringOff';

/** The writable part of a ComputerSystem's Boot object, by its Redfish property names. */
export interface BootOverride {
  BootSourceOverrideTarget: string;
  BootSourceOverrideEnabled: string;
  BootSourceOverrideMode?: string;
  HttpBootUri?: string | null;
}

/** How long a PoweringOn/PoweringOff window lasts (ms): long enough for a poll to see it, short for the tests. */
const POWER_TRANSITION_MS = 1000;

/**
 * One emulated host behind the BMC (a Redfish ComputerSystem): its power state and boot override. Transitions settle
 * lazily when read, so no timer outlives the emulator.
 */
export class HostSystem {
  private settled: 'On' | 'Off';
  private transition: { via: 'PoweringOn' | 'PoweringOff'; to: 'On' | 'Off'; until: number } | undefined;
  /** Bumped on every visible change; the Redfish ETag is derived from it. */
  generation = 1;
  /** Every accepted ResetType, in order (tests read it). */
  readonly resets: { type: string; at: number }[] = [];
  /** How many times the host booted (power on or restart completed). */
  boots = 0;
  /** Keeps ETags of different emulator runs apart. */
  readonly salt = hexToken(8);

  constructor(
    initial: 'On' | 'Off',
    public boot: BootOverride,
    private readonly transitionMs = POWER_TRANSITION_MS,
  ) {
    this.settled = initial;
  }

  powerState(now = Date.now()): PowerState {
    const t = this.transition;
    if (t && now >= t.until) {
      this.transition = undefined;
      this.settled = t.to;
      if (t.to === 'On') this.booted();
      this.generation++;
    }
    return this.transition?.via ?? this.settled;
  }

  /** Applies an accepted ResetType (DSP0268 ResetType semantics); Nmi and no-op requests change nothing. */
  reset(type: string, now = Date.now()): void {
    const current = this.powerState(now);
    this.resets.push({ type, at: now });
    const on = current === 'On' || current === 'PoweringOn';
    switch (type) {
      case 'On':
      case 'ForceOn':
        if (!on) this.start('PoweringOn', 'On', now);
        break;
      case 'ForceOff':
        // Cutting power has no window: the host is off the moment the BMC drops it.
        if (current !== 'Off') {
          this.change(() => {
            this.transition = undefined;
            this.settled = 'Off';
          });
        }
        break;
      case 'GracefulShutdown':
        if (on) this.start('PoweringOff', 'Off', now);
        break;
      case 'PushPowerButton':
        this.start(on ? 'PoweringOff' : 'PoweringOn', on ? 'Off' : 'On', now);
        break;
      case 'ForceRestart':
      case 'GracefulRestart':
      case 'PowerCycle':
        // A restart of a host that is off powers it on, as DSP0268 leaves it to the service and most BMCs do.
        this.start('PoweringOn', 'On', now);
        break;
      default:
        break;
    }
  }

  setBoot(patch: Partial<BootOverride>): void {
    this.change(() => (this.boot = { ...this.boot, ...patch }));
  }

  private start(via: 'PoweringOn' | 'PoweringOff', to: 'On' | 'Off', now: number): void {
    this.change(() => {
      this.settled = via === 'PoweringOn' ? 'Off' : 'On';
      this.transition = { via, to, until: now + this.transitionMs };
    });
  }

  /** A one-time boot override is used up by the boot it applied to (DSP0268 BootSourceOverrideEnabled "Once"). */
  private booted(): void {
    this.boots++;
    if (this.boot.BootSourceOverrideEnabled === 'Once')
      this.boot = { ...this.boot, BootSourceOverrideEnabled: 'Disabled' };
  }

  private change(f: () => void): void {
    f();
    this.generation++;
  }
}
