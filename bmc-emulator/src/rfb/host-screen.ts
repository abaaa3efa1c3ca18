import { ADVANCE, GLYPH_W, glyph } from './font.js';

/** What the host screen shows; the same layout kvm.js draws on its canvas. */
export interface HostScreenModel {
  label: string;
  node: string;
  /** Marker colour of the profile. */
  color: { r: number; g: number; b: number };
  /** Wall clock in ms; shown to the second in UTC. */
  now: number;
  typed: string;
  clicks: number;
  last: { x: number; y: number } | null;
}

const SCREEN_W = 1024;
const SCREEN_H = 768;
const TEXT = { r: 0xe0, g: 0xe0, b: 0xe0 };

function pad(n: number): string {
  return (n < 10 ? '0' : '') + n;
}

function clockText(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** The text lines of the screen: [x, y, font scale, text], as kvm.js places them (scale ~ its font size / 9). */
function lines(m: HostScreenModel): [number, number, number, string][] {
  let shown = m.typed.replace(/\n/g, '\u23ce');
  if ([...shown].length > 50) shown = `...${[...shown].slice(-47).join('')}`;
  return [
    [96, 18, 5, m.label],
    [40, 120, 4, `node: ${m.node}`],
    [40, 180, 4, clockText(m.now)],
    [40, 280, 3, `${m.node} login: _`],
    [40, 420, 3, `typed: ${shown}`],
    [40, 470, 3, `clicks: ${m.clicks}${m.last ? ` at ${m.last.x},${m.last.y}` : ''}`],
  ];
}

/**
 * The emulated host's screen as a framebuffer: 4 bytes a pixel (R, G, B, unused), rows top first. render() redraws
 * it from a model and says whether anything changed, so sessions only diff when the text did.
 */
export class HostScreen {
  readonly width = SCREEN_W;
  readonly height = SCREEN_H;
  readonly pixels = Buffer.alloc(SCREEN_W * SCREEN_H * 4);
  private drawn = '';
  /** Bumped on every redraw that changed something. */
  version = 0;

  /** Redraws when the visible text changed (the clock to the second); true when it did. */
  render(m: HostScreenModel): boolean {
    const key = JSON.stringify([m.label, m.node, m.color, clockText(m.now), m.typed, m.clicks, m.last]);
    if (key === this.drawn) return false;
    this.drawn = key;
    this.version++;
    this.pixels.fill(0);
    this.fillRect(0, 0, 64, 64, m.color);
    for (const [x, y, scale, text] of lines(m)) this.text(x, y, scale, text);
    return true;
  }

  private fillRect(x: number, y: number, w: number, h: number, c: { r: number; g: number; b: number }): void {
    const x1 = Math.min(this.width, x + w);
    const y1 = Math.min(this.height, y + h);
    for (let row = Math.max(0, y); row < y1; row++) {
      for (let col = Math.max(0, x); col < x1; col++) {
        const i = (row * this.width + col) * 4;
        this.pixels[i] = c.r;
        this.pixels[i + 1] = c.g;
        this.pixels[i + 2] = c.b;
      }
    }
  }

  /**
   * Draws text with the bitmap font as strokes: each ink dot of a glyph is a thin square at its cell's centre, joined
   * to its ink neighbours (diagonals only where no corner joins them), so the scaled glyphs read like a line font.
   */
  private text(x: number, y: number, scale: number, s: string): void {
    const t = Math.max(2, Math.round(scale * 0.55));
    const dot = (px: number, py: number) => this.fillRect(px, py, t, t, TEXT);
    const line = (x0: number, y0: number, dx: number, dy: number) => {
      for (let i = 0; i <= scale; i++) dot(x0 + dx * i, y0 + dy * i);
    };
    let cx = x;
    for (const ch of s) {
      if (cx >= this.width) break;
      const g = glyph(ch);
      const ink = (r: number, c: number) => c >= 0 && c < GLYPH_W && ((g.rows[r] ?? 0) >> (GLYPH_W - 1 - c)) & 1;
      for (let r = 0; r < g.rows.length; r++) {
        for (let c = 0; c < GLYPH_W; c++) {
          if (!ink(r, c)) continue;
          const px = cx + c * scale + Math.floor((scale - t) / 2);
          const py = y + (r + g.drop) * scale + Math.floor((scale - t) / 2);
          dot(px, py);
          if (ink(r, c + 1)) line(px, py, 1, 0);
          if (ink(r + 1, c)) line(px, py, 0, 1);
          if (ink(r + 1, c + 1) && !ink(r, c + 1) && !ink(r + 1, c)) line(px, py, 1, 1);
          if (ink(r + 1, c - 1) && !ink(r, c - 1) && !ink(r + 1, c)) line(px, py, -1, 1);
        }
      }
      cx += ADVANCE * scale;
    }
  }
}
