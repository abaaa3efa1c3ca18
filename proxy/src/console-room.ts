import type { ViewerRole } from '@bmc-console/common/contracts/agent-api';
import type { RecordingEvent } from '@bmc-console/common/contracts/recording';
import type { PresenceMessage } from '@bmc-console/common/contracts/viewer-channel';

/** Why a viewer's input was dropped (the label of bmc_proxy_input_dropped_total). */
export type DropReason = 'view-only' | 'read-only' | 'not-holder';

/** A session as the room sees it; the room tells it about changes and never holds anything else of it. */
export interface RoomMember {
  readonly id: string;
  readonly user: string | null;
  readonly role: ViewerRole;
  /** The console is read-only for this session. */
  readonly readOnly: boolean;
  /** The session's token asks for sole control. */
  readonly exclusive: boolean;
  readonly recording: boolean;
  /** Something a recording keeps happened in the room (joined, left, control moved). */
  roomEvent(e: RecordingEvent): void;
  /** The room changed (members, control, last input): time to send presence. */
  roomChanged(): void;
}

type Peer = { session: string; user: string | null };
export type RoomAnswer = { ok: true; other: Peer | null } | { ok: false; reason: string };

/** Last-input presence goes out at most this often; member and control changes go out at once. */
const INPUT_PRESENCE_MS = 1000;

const NOT_EXCLUSIVE =
  'every control viewer may type on this console; links made with --exclusive give one viewer sole control';

/**
 * The viewers of one console (one per node with live sessions): who is there, whether someone asked for sole
 * control, who holds it, who typed last. Exclusive while a member's token asks for it; the member that makes the
 * room exclusive gets control, and when the holder leaves control goes to the earliest-joined member that can type.
 */
export class ConsoleRoom {
  /** In join order (Map keeps insertion order). */
  private readonly members = new Map<string, { m: RoomMember; since: Date }>();
  private holder: string | null = null;
  /** Members that asked for sole control: counted on join and leave, since every input message asks. */
  private exclusiveMembers = 0;
  private lastInput: { session: string; user: string | null; at: Date } | null = null;
  private lastInputSentAt = 0;
  private inputTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly node: string,
    private readonly onEmpty: (room: ConsoleRoom) => void,
  ) {}

  get size(): number {
    return this.members.size;
  }

  get exclusive(): boolean {
    return this.exclusiveMembers > 0;
  }

  get holderId(): string | null {
    return this.holder;
  }

  join(m: RoomMember): void {
    const wasExclusive = this.exclusive;
    if (this.members.has(m.id)) return;
    this.members.set(m.id, { m, since: new Date() });
    if (m.exclusive) this.exclusiveMembers++;
    const events: RecordingEvent[] = [{ event: 'joined', session: m.id, user: m.user }];
    if (m.exclusive && !wasExclusive)
      events.push({ event: 'exclusive', session: m.id, user: m.user, detail: 'sole control asked for' });
    // The first exclusive member takes control; a room whose holder is gone gives it to the next that can type.
    if (this.exclusive && this.holder === null && canHold(m)) this.holder = m.id;
    this.broadcast(events);
  }

  leave(id: string): void {
    const left = this.members.get(id)?.m;
    if (!left) return;
    const wasExclusive = this.exclusive;
    this.members.delete(id);
    if (left.exclusive) this.exclusiveMembers--;
    const events: RecordingEvent[] = [{ event: 'left', session: id, user: left.user }];
    if (wasExclusive && !this.exclusive) {
      this.holder = null;
      events.push({ event: 'exclusive', session: id, user: left.user, detail: 'sole control ended' });
    } else if (this.holder === id) {
      this.holder = this.earliestHolder();
      const next = this.holder !== null ? this.members.get(this.holder)?.m : undefined;
      if (next) events.push({ event: 'hand-over', session: id, user: left.user, to: next.id, detail: 'holder left' });
    }
    if (this.members.size === 0) {
      if (this.inputTimer) clearTimeout(this.inputTimer);
      this.inputTimer = undefined;
      this.onEmpty(this);
      return;
    }
    this.broadcast(events);
  }

  /** Why this member's input must be dropped now; null: it may type. */
  dropReason(m: RoomMember): DropReason | null {
    if (m.role === 'view') return 'view-only';
    if (m.readOnly) return 'read-only';
    if (this.exclusive && this.holder !== m.id) return 'not-holder';
    return null;
  }

  /** The holder gives control to another control viewer of this room. */
  handOver(fromId: string, toId: string): RoomAnswer {
    const from = this.members.get(fromId)?.m;
    if (!from) return { ok: false, reason: 'you are not in this room' };
    if (!this.exclusive) return { ok: false, reason: NOT_EXCLUSIVE };
    if (this.holder !== fromId) return { ok: false, reason: 'only the viewer holding control can hand it over' };
    const to = this.members.get(toId)?.m;
    if (!to) return { ok: false, reason: `no viewer ${toId} on this console` };
    if (to.id === fromId) return { ok: false, reason: 'you already hold control' };
    if (to.role !== 'control') return { ok: false, reason: 'that viewer only watches (a view-only link)' };
    if (to.readOnly) return { ok: false, reason: 'the console is read-only for that viewer' };
    this.holder = to.id;
    this.broadcast([{ event: 'hand-over', session: from.id, user: from.user, to: to.id }]);
    return { ok: true, other: { session: to.id, user: to.user } };
  }

  /** A control viewer of an exclusive room takes control from whoever holds it. */
  takeControl(id: string): RoomAnswer {
    const m = this.members.get(id)?.m;
    if (!m) return { ok: false, reason: 'you are not in this room' };
    if (!this.exclusive) return { ok: false, reason: NOT_EXCLUSIVE };
    if (m.role !== 'control') return { ok: false, reason: 'a view-only link cannot take control' };
    if (m.readOnly) return { ok: false, reason: 'the console is read-only' };
    const prev = this.holder !== null ? (this.members.get(this.holder)?.m ?? null) : null;
    if (prev?.id === id) return { ok: true, other: null };
    this.holder = id;
    this.broadcast([
      { event: 'take-control', session: id, user: m.user, ...(prev ? { detail: `from ${prev.id}` } : {}) },
    ]);
    return { ok: true, other: prev ? { session: prev.id, user: prev.user } : null };
  }

  /** Input from this member reached the console; presence says so at most once a second. */
  noteInput(m: RoomMember): void {
    this.lastInput = { session: m.id, user: m.user, at: new Date() };
    if (this.inputTimer) return;
    const wait = this.lastInputSentAt + INPUT_PRESENCE_MS - Date.now();
    if (wait <= 0) return this.sendPresence();
    this.inputTimer = setTimeout(() => {
      this.inputTimer = undefined;
      this.sendPresence();
    }, wait);
    this.inputTimer.unref();
  }

  /** What the room looks like to one member. */
  presence(forId: string): PresenceMessage {
    let recording = false;
    const viewers = [...this.members.values()].map(({ m, since }) => {
      recording ||= m.recording;
      return {
        session: m.id,
        user: m.user,
        role: m.role,
        since: since.toISOString(),
        canType: this.dropReason(m) === null,
      };
    });
    const li = this.lastInput;
    return {
      type: 'presence',
      you: forId,
      exclusive: this.exclusive,
      holder: this.holder,
      lastInput: li ? { session: li.session, user: li.user, at: li.at.toISOString() } : null,
      recording,
      viewers,
    };
  }

  private earliestHolder(): string | null {
    for (const { m } of this.members.values()) if (canHold(m)) return m.id;
    return null;
  }

  private broadcast(events: RecordingEvent[]): void {
    for (const { m } of this.members.values()) for (const e of events) m.roomEvent(e);
    this.sendPresence();
  }

  private sendPresence(): void {
    this.lastInputSentAt = Date.now();
    for (const { m } of this.members.values()) m.roomChanged();
  }
}

function canHold(m: RoomMember): boolean {
  return m.role === 'control' && !m.readOnly;
}
