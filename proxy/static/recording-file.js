// Reads a session recording (common/src/contracts/recording.ts) and turns the viewer's input messages into a
// timeline. The HMAC in the end record is checked by the proxy before it serves the file (the page has no key).
import KeyTable from '/novnc/core/input/keysym.js';

export const RECORDING_MAGIC = 'BMCREC1\n';
export const Kind = { console: 1, viewer: 2, dropped: 3, event: 4, end: 255 };
const HMAC_BYTES = 32;

export class RecordingFormatError extends Error {}

const fail = (msg) => {
  throw new RecordingFormatError(msg);
};

/**
 * @param {ArrayBuffer} buf
 * @returns {{ header: object, serverInit: Uint8Array, records: Array<{ kind: number, t: number, data: Uint8Array }>,
 *   complete: boolean, durationMs: number }}
 */
export function parseRecording(buf) {
  const bytes = new Uint8Array(buf);
  const dv = new DataView(buf);
  const magic = new TextEncoder().encode(RECORDING_MAGIC);
  if (bytes.length < magic.length + 4 || magic.some((b, i) => bytes[i] !== b))
    fail('not a console recording (magic "BMCREC1" missing)');
  let off = magic.length;
  const headerLen = dv.getUint32(off);
  off += 4;
  if (off + headerLen > bytes.length) fail('recording header: cut short');
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(off, off + headerLen)));
  } catch {
    fail('recording header: not valid JSON');
  }
  off += headerLen;
  if (header?.version !== 1) fail(`recording header: version ${header?.version} is not supported`);
  if (typeof header.serverInit !== 'string' || !/^([0-9a-f]{2})+$/.test(header.serverInit))
    fail('recording header: serverInit is not hex');
  const serverInit = new Uint8Array(header.serverInit.match(/../g).map((h) => Number.parseInt(h, 16)));
  if (serverInit.length < 24) fail('recording header: serverInit is shorter than 24 bytes');

  const records = [];
  let complete = false;
  let durationMs = 0;
  while (off < bytes.length) {
    if (complete) fail(`record at byte ${off}: data after the end record`);
    if (off + 9 > bytes.length) fail(`record at byte ${off}: cut short`);
    const kind = bytes[off];
    const t = dv.getUint32(off + 1);
    const len = dv.getUint32(off + 5);
    if (off + 9 + len > bytes.length) fail(`record at byte ${off}: cut short`);
    const data = bytes.subarray(off + 9, off + 9 + len);
    off += 9 + len;
    if (kind === Kind.end) {
      if (len !== HMAC_BYTES) fail(`end record: ${len} bytes, expected ${HMAC_BYTES}`);
      complete = true;
      continue;
    }
    if (kind < Kind.console || kind > Kind.event) fail(`record at byte ${off - 9 - len}: unknown kind ${kind}`);
    records.push({ kind, t, data });
    if (t > durationMs) durationMs = t;
  }
  return { header, serverInit, records, complete, durationMs };
}

// noVNC asks every server for this format and decodes assuming it; any other cannot be replayed through noVNC.
function pixelFormatProblem(pf) {
  const [bpp, , bigEndian, trueColour] = pf;
  const dv = new DataView(pf.buffer, pf.byteOffset, pf.byteLength);
  if (bpp !== 32 || !trueColour) return `${bpp} bpp${trueColour ? '' : ' colour-mapped'}`;
  const ok =
    bigEndian === 0 &&
    dv.getUint16(4) === 255 &&
    dv.getUint16(6) === 255 &&
    dv.getUint16(8) === 255 &&
    pf[10] === 0 &&
    pf[11] === 8 &&
    pf[12] === 16;
  return ok ? null : '32 bpp with another channel layout';
}

/**
 * Why the replay cannot show this recording (its pixels are not in noVNC's 32 bpp true colour), or null. The
 * recorded viewer's first SetPixelFormat decides; without one, the console's own format from ServerInit.
 */
export function unsupportedPixelFormat(rec) {
  const first = rec.records.find((r) => r.kind === Kind.viewer && r.data[0] === 0 && r.data.length >= 20);
  const pf = first ? first.data.subarray(4, 20) : rec.serverInit.subarray(4, 20);
  const problem = pixelFormatProblem(pf);
  return problem
    ? `The recorded viewer used a ${problem} pixel format; this replay can only show 32 bpp true colour (what the console viewer uses).`
    : null;
}

const KEY_NAMES = new Map();
for (const [name, sym] of Object.entries(KeyTable)) if (!KEY_NAMES.has(sym)) KEY_NAMES.set(sym, name.slice(3));

/** A keysym as the character it types, or its X name (Return, F5, Control_L). */
export function keyLabel(sym) {
  if (sym === 0x20) return 'Space';
  if ((sym > 0x20 && sym <= 0x7e) || (sym >= 0xa0 && sym <= 0xff)) return String.fromCharCode(sym);
  if (sym >= 0x01000100 && sym <= 0x0110ffff) return String.fromCodePoint(sym - 0x01000000);
  return KEY_NAMES.get(sym) || `keysym 0x${sym.toString(16)}`;
}

const BUTTONS = [
  [1, 'left click'],
  [2, 'middle click'],
  [4, 'right click'],
  [8, 'wheel up'],
  [16, 'wheel down'],
];

/**
 * The timeline: key presses, clicks, clipboard pastes (accepted and dropped) and session events.
 * @returns {Array<{ t: number, type: string, text: string, dropped: boolean, user: string }>}
 */
export function inputEvents(rec) {
  const user = rec.header.user || 'anonymous';
  const out = [];
  // Button state per stream: a click is a button that goes down.
  const masks = { [Kind.viewer]: 0, [Kind.dropped]: 0 };
  // Session ids to names, from the events so far: a hand-over names its target by session.
  const names = new Map([[rec.header.session, user]]);
  for (const r of rec.records) {
    const d = r.data;
    if (r.kind === Kind.event) {
      let e;
      try {
        e = JSON.parse(new TextDecoder().decode(d));
      } catch {
        continue;
      }
      const who = e.user || 'anonymous';
      if (typeof e.session === 'string') names.set(e.session, who);
      const text =
        e.event === 'hand-over'
          ? `handed control to ${names.get(e.to) ?? e.to ?? 'another viewer'}`
          : e.event === 'take-control'
            ? 'took control'
            : e.event === 'exclusive'
              ? 'asked for sole control'
              : e.event;
      out.push({ t: r.t, type: 'event', text: e.detail ? `${text} (${e.detail})` : text, dropped: false, user: who });
      continue;
    }
    if (r.kind !== Kind.viewer && r.kind !== Kind.dropped) continue;
    const dropped = r.kind === Kind.dropped;
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const push = (type, text) => out.push({ t: r.t, type, text, dropped, user });
    if (d[0] === 4 && d.length >= 8) {
      if (d[1]) push('key', keyLabel(dv.getUint32(4)));
    } else if (d[0] === 255 && d[1] === 0 && d.length >= 12) {
      // QEMU extended key event (noVNC uses it when the console offers it).
      if (dv.getUint16(2)) push('key', keyLabel(dv.getUint32(4)));
    } else if (d[0] === 5 && d.length >= 6) {
      const mask = d[1] & 0x7f;
      const pressed = mask & ~masks[r.kind];
      masks[r.kind] = mask;
      for (const [bit, name] of BUTTONS)
        if (pressed & bit) push('click', `${name} at ${dv.getUint16(2)},${dv.getUint16(4)}`);
    } else if (d[0] === 6 && d.length >= 8) {
      const len = dv.getInt32(4);
      if (len < 0) push('clipboard', 'clipboard (extended format)');
      else {
        const text = String.fromCharCode(...d.subarray(8, 8 + Math.min(len, 60)));
        push('clipboard', `clipboard: “${text}${len > 60 ? '…' : ''}” (${len} chars)`);
      }
    }
  }
  return out;
}
