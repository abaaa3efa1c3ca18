// Plays a recording's console bytes into noVNC. noVNC talks to a fake channel: we play the server's side of the
// handshake (RFB 3.8, security None, the recorded ServerInit), ignore everything noVNC sends, then hand it the
// console records at their times. Seeking builds a fresh RFB and feeds it from the start, because zlib, tight and
// ZRLE decoders keep state across the whole stream.
import RFB from '/novnc/core/rfb.js';
import { Kind } from './recording-file.js';

// Feeding this much without a pause would freeze the page on long recordings; seeks yield to the event loop.
const YIELD_EVERY_BYTES = 2 * 1024 * 1024;
const TICK_MS = 100;

/** The server end of noVNC's connection: a WebSocket look-alike that is open at once and drops what it is sent. */
class ReplayChannel {
  constructor() {
    this.binaryType = 'arraybuffer';
    this.protocol = '';
    this.readyState = 'open';
    this.onopen = null;
    this.onmessage = null;
    this.onerror = null;
    this.onclose = null;
  }

  send() {}

  close() {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    // noVNC waits for the close event to finish its disconnect.
    setTimeout(() => this.onclose?.({ code: 1000, reason: '', wasClean: true }));
  }

  feed(bytes) {
    if (this.readyState === 'open') this.onmessage?.({ data: bytes });
  }
}

/**
 * The server's handshake in the two messages noVNC reads it in (it stops after the version until more arrives):
 * the version, then one security type (1 = None), SecurityResult OK and the console's ServerInit.
 */
function handshake(serverInit) {
  const rest = new Uint8Array(6 + serverInit.length);
  rest.set([1, 1, 0, 0, 0, 0], 0);
  rest.set(serverInit, 6);
  return [new TextEncoder().encode('RFB 003.008\n'), rest];
}

/**
 * Waits until noVNC has drawn everything it was given. noVNC pauses reading while images (tight JPEG/PNG) decode;
 * `_flushing` and `_display` are its internals (noVNC 1.7), read defensively.
 */
async function settle(rfb) {
  for (let i = 0; i < 1000; i++) {
    const display = rfb._display;
    if (!rfb._flushing && !display?.pending?.()) return;
    await display.flush();
    await new Promise((r) => setTimeout(r));
  }
}

export class ReplayPlayer {
  /**
   * @param {HTMLElement} target
   * @param {ReturnType<import('./recording-file.js').parseRecording>} rec
   * @param {{ onChange: () => void, onError: (msg: string) => void }} hooks
   */
  constructor(target, rec, hooks) {
    this.target = target;
    this.rec = rec;
    this.hooks = hooks;
    this.consoleRecords = rec.records.filter((r) => r.kind === Kind.console);
    this.durationMs = rec.durationMs;
    this.positionMs = 0;
    this.speed = 1;
    this.playing = false;
    this.rfb = null;
    this.channel = null;
    this.next = 0;
    this.generation = 0;
    this.timer = null;
  }

  /** A fresh noVNC past the handshake, showing the first frame's size. */
  fresh() {
    if (this.rfb) {
      this.rfb.disconnect();
      this.rfb = null;
    }
    const channel = new ReplayChannel();
    const rfb = new RFB(this.target, channel, { shared: true });
    rfb.viewOnly = true;
    rfb.focusOnClick = false;
    rfb.scaleViewport = true;
    rfb.background = '#0b0e12';
    rfb.addEventListener('disconnect', (e) => {
      if (this.rfb === rfb && !e.detail.clean) this.hooks.onError('The recorded console data could not be decoded.');
    });
    this.rfb = rfb;
    this.channel = channel;
    this.next = 0;
    for (const m of handshake(this.rec.serverInit)) channel.feed(m);
  }

  /** Shows the screen as it was at `ms`: a fresh RFB fed every console record up to then. */
  async seek(ms) {
    this.stopTimer();
    const gen = ++this.generation;
    const target = Math.max(0, Math.min(ms, this.durationMs));
    this.fresh();
    const { rfb, channel } = this;
    let sinceYield = 0;
    while (this.next < this.consoleRecords.length && this.consoleRecords[this.next].t <= target) {
      const r = this.consoleRecords[this.next++];
      channel.feed(r.data);
      sinceYield += r.data.length;
      if (rfb._flushing || sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0;
        await settle(rfb);
        if (gen !== this.generation) return;
      }
    }
    await settle(rfb);
    if (gen !== this.generation) return;
    this.positionMs = target;
    // A pause or play pressed during the seek decides what happens after it.
    if (this.playing && target < this.durationMs) this.startTimer();
    else this.playing = false;
    this.hooks.onChange();
  }

  play() {
    if (this.playing) return;
    if (this.positionMs >= this.durationMs) {
      this.playing = true;
      void this.seek(0);
      return;
    }
    this.startTimer();
    this.hooks.onChange();
  }

  pause() {
    if (!this.playing) return;
    this.positionMs = this.currentPosition();
    this.stopTimer();
    this.playing = false;
    this.hooks.onChange();
  }

  setSpeed(speed) {
    if (this.playing) {
      this.positionMs = this.currentPosition();
      this.anchor = { wall: performance.now(), pos: this.positionMs };
    }
    this.speed = speed;
  }

  get ended() {
    return !this.playing && this.positionMs >= this.durationMs;
  }

  currentPosition() {
    if (!this.playing || !this.anchor) return this.positionMs;
    return Math.min(this.durationMs, this.anchor.pos + (performance.now() - this.anchor.wall) * this.speed);
  }

  startTimer() {
    this.playing = true;
    this.anchor = { wall: performance.now(), pos: this.positionMs };
    this.tick();
  }

  stopTimer() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  tick() {
    const pos = this.currentPosition();
    // noVNC queues what it cannot draw yet (decoding images), so records are handed over as their time comes.
    while (this.next < this.consoleRecords.length && this.consoleRecords[this.next].t <= pos)
      this.channel.feed(this.consoleRecords[this.next++].data);
    this.positionMs = pos;
    if (pos >= this.durationMs) {
      this.playing = false;
      this.stopTimer();
      this.hooks.onChange();
      return;
    }
    const nextT = this.next < this.consoleRecords.length ? this.consoleRecords[this.next].t : this.durationMs;
    const wait = Math.max(1, Math.min(TICK_MS, (nextT - pos) / this.speed));
    this.timer = setTimeout(() => this.tick(), wait);
    this.hooks.onChange();
  }

  frameDataUrl() {
    return this.rfb ? this.rfb.toDataURL('image/png') : '';
  }

  frameBlob() {
    return new Promise((resolve) => (this.rfb ? this.rfb.toBlob(resolve, 'image/png') : resolve(null)));
  }
}
