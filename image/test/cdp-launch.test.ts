/** launchBrowser's signal: a launch called off kills the browser it started and rejects (real headless Chromium). */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { launchBrowser } from '../src/cdp/browser.js';
import { CHROMIUM_EXECUTABLE } from '../src/supervisor/chromium.js';

/** Our children that are Chromium (its process name), by pid. */
function chromiumChildren(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && /chrom/i.test(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('launchBrowser called off', () => {
  it('kills the browser it started and rejects; an already aborted signal launches nothing that stays', async () => {
    const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
    const calledOff = new AbortController();
    const launching = launchBrowser({
      executablePath: CHROMIUM_EXECUTABLE,
      headless: true,
      args,
      signal: calledOff.signal,
    });
    setTimeout(() => calledOff.abort(), 20);
    await expect(launching).rejects.toThrow(/called off/);
    await expect(
      launchBrowser({ executablePath: CHROMIUM_EXECUTABLE, headless: true, args, signal: AbortSignal.abort() }),
    ).rejects.toThrow(/called off/);
    await expect.poll(chromiumChildren, { timeout: 10_000 }).toEqual([]);
  });

  it('a signal never aborted leaves the browser running', async () => {
    const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
    const browser = await launchBrowser({
      executablePath: CHROMIUM_EXECUTABLE,
      headless: true,
      args,
      signal: new AbortController().signal,
    });
    try {
      expect((await browser.newPage()).isClosed()).toBe(false);
    } finally {
      await browser.close();
    }
  });
});
