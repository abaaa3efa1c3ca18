// The room of one console's viewers as a state machine: membership, exclusive control, hand-over, take-control.
import type { RecordingEvent } from '@bmc-console/common/contracts/recording';
import { presenceMessageSchema } from '@bmc-console/common/contracts/viewer-channel';
import { describe, expect, it } from 'vitest';
import { ConsoleRoom, type RoomMember } from '../src/console-room.js';

interface TestMember extends RoomMember {
  events: RecordingEvent[];
  changes: number;
}

function member(id: string, o: Partial<Pick<RoomMember, 'role' | 'readOnly' | 'exclusive'>> = {}): TestMember {
  const m: TestMember = {
    id,
    user: `user-${id}`,
    role: o.role ?? 'control',
    readOnly: o.readOnly ?? false,
    exclusive: o.exclusive ?? false,
    recording: false,
    events: [],
    changes: 0,
    roomEvent: (e) => void m.events.push(e),
    roomChanged: () => void m.changes++,
  };
  return m;
}

describe('ConsoleRoom', () => {
  it('lets every control viewer type in a non-exclusive room, never a view-only one, refuses control requests', () => {
    const room = new ConsoleRoom('n1', () => {});
    const a = member('a');
    const v = member('v', { role: 'view' });
    const ro = member('ro', { readOnly: true });
    room.join(a);
    room.join(v);
    room.join(ro);
    expect([room.dropReason(a), room.dropReason(v), room.dropReason(ro)]).toEqual([null, 'view-only', 'read-only']);
    const refused = room.takeControl('a');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toMatch(/every control viewer may type.*--exclusive/);
    expect(room.handOver('a', 'v').ok).toBe(false);
    expect(a.events.map((e) => e.event)).toEqual(['joined', 'joined', 'joined']);
  });

  it('gives the first exclusive viewer control; hand-over, take-control and the holder leaving move it', () => {
    let emptied = false;
    const room = new ConsoleRoom('n1', () => (emptied = true));
    const c1 = member('c1');
    const x = member('x', { exclusive: true });
    const c2 = member('c2');
    const v = member('v', { role: 'view' });
    room.join(c1);
    expect(room.exclusive).toBe(false);
    room.join(x);
    room.join(c2);
    room.join(v);
    expect([room.exclusive, room.holderId]).toEqual([true, 'x']);
    expect([room.dropReason(c1), room.dropReason(x), room.dropReason(c2)]).toEqual(['not-holder', null, 'not-holder']);

    expect(room.handOver('c1', 'c2')).toEqual({
      ok: false,
      reason: 'only the viewer holding control can hand it over',
    });
    expect(room.handOver('x', 'v').ok).toBe(false); // view-only cannot receive control
    expect(room.handOver('x', 'nobody').ok).toBe(false);
    expect(room.handOver('x', 'c2')).toEqual({ ok: true, other: { session: 'c2', user: 'user-c2' } });
    expect(room.holderId).toBe('c2');
    expect(room.takeControl('v').ok).toBe(false);
    expect(room.takeControl('c1')).toEqual({ ok: true, other: { session: 'c2', user: 'user-c2' } });
    expect(room.holderId).toBe('c1');
    expect(c2.events.slice(-2)).toEqual([
      { event: 'hand-over', session: 'x', user: 'user-x', to: 'c2' },
      { event: 'take-control', session: 'c1', user: 'user-c1', detail: 'from c2' },
    ]);

    // The holder leaves: the earliest-joined remaining viewer that can type (x, not c2) gets control.
    room.leave('c1');
    expect(room.holderId).toBe('x');
    const p = presenceMessageSchema.parse(room.presence('v'));
    expect(p).toMatchObject({ you: 'v', exclusive: true, holder: 'x', lastInput: null, recording: false });
    expect(p.viewers.map((w) => [w.session, w.canType])).toEqual([
      ['x', true],
      ['c2', false],
      ['v', false],
    ]);
    // The exclusive viewer leaves: the room is no longer exclusive and everyone with control types.
    room.leave('x');
    expect([room.exclusive, room.holderId, room.dropReason(c2)]).toEqual([false, null, null]);
    room.leave('c2');
    room.leave('v');
    expect(emptied).toBe(true);
  });

  it('sends last input at most once a second', async () => {
    const room = new ConsoleRoom('n1', () => {});
    const a = member('a');
    room.join(a);
    const before = a.changes;
    for (let i = 0; i < 50; i++) room.noteInput(a);
    expect(a.changes - before).toBeLessThanOrEqual(1);
    expect(room.presence('a').lastInput).toMatchObject({ session: 'a', user: 'user-a' });
    await new Promise((r) => setTimeout(r, 1100));
    expect(a.changes - before).toBeLessThanOrEqual(2);
    room.leave('a');
  });
});
