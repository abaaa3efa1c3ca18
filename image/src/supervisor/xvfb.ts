import type { Readable } from 'node:stream';
import type { Logger } from '@bmc-console/common/log';
import { spawnChild, type Child } from './child-process.js';
import { forgetDisplayAuthority, registerDisplayAuthority } from './xauthority.js';

export interface XvfbOptions {
  width: number;
  height: number;
  /** The Xauthority file (writeXauthority) whose cookie a client must present: no -ac, so nothing else gets in. */
  authFile: string;
}

/**
 * Xvfb's arguments: the display number is chosen by Xvfb and written to fd 3 (-displayfd), so none collide.
 * No GLX: Chromium runs without a GPU and never uses it, and Xvfb's GLX (Mesa) costs ~17 MiB per console.
 * Access control stays on (no -ac): only clients with the cookie of `-auth` may open the display, read its pixels
 * or send it input.
 */
export function xvfbArgs(o: XvfbOptions): string[] {
  return [
    '-displayfd',
    '3',
    '-screen',
    '0',
    `${o.width}x${o.height}x24`,
    '-nolisten',
    'tcp',
    '-auth',
    o.authFile,
    '+extension',
    'RANDR',
    '-extension',
    'GLX',
    '-dpi',
    '96',
  ];
}

export interface RunningXvfb extends Child {
  /** ":N" */
  display: string;
  /** The Xauthority file a client of `display` needs. */
  authFile: string;
}

/** Starts Xvfb and resolves once it accepts connections (it writes its display number only when ready). */
export async function startXvfb(o: XvfbOptions, log: Logger, timeoutMs = 60_000): Promise<RunningXvfb> {
  const child = spawnChild('xvfb', 'Xvfb', xvfbArgs(o), log, { extraPipe: true });
  const fd3 = child.proc.stdio[3] as Readable | null | undefined;
  if (!fd3) throw new Error('Xvfb: no -displayfd pipe');
  const display = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`Xvfb did not report a display within ${timeoutMs} ms`)),
      timeoutMs,
    );
    fd3.setEncoding('utf8');
    fd3.on('data', (chunk: string) => {
      buf += chunk;
      const m = /^(\d+)\n/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(`:${m[1]}`);
      }
    });
    void child.exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${how}) before it was ready`));
    });
  }).catch(async (err: unknown) => {
    await child.stop(500);
    throw err;
  });
  registerDisplayAuthority(display, o.authFile);
  void child.exited.then(() => forgetDisplayAuthority(display));
  return { ...child, display, authFile: o.authFile };
}
