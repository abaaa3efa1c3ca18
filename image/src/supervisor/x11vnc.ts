import { chmodSync, existsSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from '@bmc-console/common/log';
import { spawnChild, type Child } from './child-process.js';

export interface X11vncOptions {
  display: string;
  /** The display's Xauthority file (Xvfb runs with access control). */
  authFile: string;
  port: number;
  readOnly: boolean;
  /** Path of a file whose first line is the VNC password (x11vnc -passwdfile); undefined = no password. */
  passwordFile?: string;
  /**
   * x11vnc checks the file for a new mtime at every new client and reads it again ("read:") instead of deleting it:
   * a console that waits for its node (AWAIT_APP_INFO) gets the node's password after start.
   */
  rereadPassword?: boolean;
}

/**
 * x11vnc's arguments. No -ncache: it makes the framebuffer report a tall off-screen cache area
 * (Ironic removed it for that reason). The password comes from a file, never from argv.
 */
export function x11vncArgs(o: X11vncOptions): string[] {
  // -nowf: no wireframe window moves (kiosk has one window); -noxrecord: no XRECORD scroll heuristics.
  // -nonap: x11vnc's naps (longer sleeps between screen polls while it sees little activity) can hold back the
  // first KVM picture by seconds; without them a change reaches the viewer at the next poll (docs/benchmarks.md).
  // -wait 100 -wait_ui 10: a screen poll every 100 ms (x11vnc's default is 20), cut to 10 ms while a viewer types or
  // moves the mouse, so a keystroke's echo comes back as fast as with a poll every 10 ms while a watched console at
  // rest polls a tenth as often. Polling is most of x11vnc's and Xvfb's CPU while a viewer watches; a change nobody
  // typed for (the KVM's own video) waits at most 100 ms for the next poll.
  // -defer 10: an update goes to a viewer 10 ms after x11vnc found the change instead of its default 20: a keystroke's
  // echo ~7 ms sooner (bench/probes/console-keystroke.ts, alternating, 80 keys: median 57 -> 50 ms); a screen that
  // changes less often than x11vnc polls costs nothing more.
  // -fs 1.0: no full-screen grab when most tiles changed, so no full-screen MIT-SHM image (megabytes of shared memory
  // charged to the console); such a change is read in tile rows like any other.
  // -noxdamage: with X DAMAGE, x11vnc polls only where damage was reported, and uses large damage rectangles (any
  // page Chromium repaints) as hints only, so a change already on the X screen can reach a viewer returning to a
  // released KVM late; scanline polling alone finds it at the next poll, for a little CPU while a viewer watches
  // (x11vnc does not poll without one).
  // -noremote: nothing on the display (or x11vnc -remote) may reconfigure this x11vnc; -novncconnect: no reverse
  // connections to wherever the VNC_CONNECT property of the root window names.
  const args = [
    '-display',
    o.display,
    '-auth',
    o.authFile,
    '-rfbport',
    String(o.port),
    '-shared',
    '-forever',
    '-noremote',
    '-novncconnect',
    '-nowf',
    '-noxrecord',
    '-nonap',
    '-noxdamage',
    '-wait',
    '100',
    '-wait_ui',
    '10',
    '-defer',
    '10',
    '-fs',
    '1.0',
    '-quiet',
  ];
  // A read-only viewer takes no text out of the console nor puts any in: -noclipboard/-nosetclipboard cover only
  // CLIPBOARD, and -nosel also the PRIMARY selection and the cut buffer.
  if (o.readOnly) args.push('-viewonly', '-nocursor', '-noclipboard', '-nosetclipboard', '-nosel');
  if (o.passwordFile) args.push('-passwdfile', `${o.rereadPassword ? 'read' : 'rm'}:${o.passwordFile}`);
  else args.push('-nopw');
  return args;
}

/**
 * Writes the VNC password for x11vnc into a mode-0600 file in `dir` (x11vnc deletes it after reading: "rm:", or
 * reads it again for each new client: "read:"). Written to a temporary name and renamed, so x11vnc never reads half.
 * Node's OpenSSL 3 has no DES, so the obfuscated -rfbauth format is not used; -passwdfile is x11vnc's
 * documented way to keep the password out of argv.
 */
export function writePasswordFile(dir: string, password: string): string {
  const path = join(dir, 'vnc-password');
  const tmp = `${path}.new`;
  writeFileSync(tmp, `${password}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  // "read:" rereads the file only when its mtime changed in whole seconds (checked: a node's password written in the
  // second the waiting console's was went unseen, and its viewers were refused). So a replacement is dated at least
  // a second after the file it replaces.
  const before = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
  if (before !== undefined) {
    const t = Math.max(Date.now(), (Math.floor(before / 1000) + 1) * 1000) / 1000;
    utimesSync(tmp, t, t);
  }
  renameSync(tmp, path);
  return path;
}

/**
 * Resolves when something on host:port speaks RFB (the server greeting "RFB xxx.yyy\n"). `ownPorts` holds the
 * local ports of the probe connections while they are open, so the viewer count can leave them out.
 */
export function waitForRfb(host: string, port: number, timeoutMs: number, ownPorts?: Set<number>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const attempt = (): Promise<boolean> =>
    new Promise((resolve) => {
      const sock = connect({ host, port });
      let localPort: number | undefined;
      sock.once('connect', () => {
        localPort = sock.localPort;
        if (localPort) ownPorts?.add(localPort);
      });
      sock.once('close', () => localPort && ownPorts?.delete(localPort));
      const done = (ok: boolean) => {
        sock.destroy();
        resolve(ok);
      };
      sock.setTimeout(1000, () => done(false));
      sock.once('data', (d) => done(d.toString('latin1').startsWith('RFB ')));
      sock.once('error', () => done(false));
    });
  return (async () => {
    while (Date.now() < deadline) {
      if (await attempt()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no RFB greeting on ${host}:${port} within ${timeoutMs} ms`);
  })();
}

/**
 * The library the image preloads into x11vnc so that it greets a new client at once and reports its viewers
 * (image/x11vnc-preload/hooks.c says how): without it a start waits 0.1-0.3 s for each greeting, twice,
 * and the viewers are counted from the kernel's TCP tables (vnc-viewers.ts). Outside the image (host-side tests)
 * x11vnc runs as Debian ships it.
 */
export const X11VNC_HOOKS_LIBRARY = '/usr/local/lib/bmc-console/x11vnc-hooks.so';
/** x11vnc's descriptor for the viewer reports: the child's stdio[3]. */
const VIEWER_REPORTS_FD = 3;

export interface X11vncChild extends Child {
  /** With the preload: '+' per viewer come, '-' per viewer gone (x11vnc-viewers.ts). */
  viewerReports: Readable | undefined;
}

/** The preload's path when it is installed (the image), else undefined. */
export function installedPreload(path = X11VNC_HOOKS_LIBRARY): string | undefined {
  return existsSync(path) ? path : undefined;
}

/** Starts x11vnc, with `preload` (installedPreload()) when given. */
export function startX11vnc(o: X11vncOptions, log: Logger, preload?: string): X11vncChild {
  if (!preload) return { ...spawnChild('x11vnc', 'x11vnc', x11vncArgs(o), log), viewerReports: undefined };
  const child = spawnChild('x11vnc', 'x11vnc', x11vncArgs(o), log, {
    env: { LD_PRELOAD: preload, BMC_CONSOLE_VIEWER_FD: String(VIEWER_REPORTS_FD) },
    extraPipe: true,
  });
  return { ...child, viewerReports: (child.proc.stdio[VIEWER_REPORTS_FD] as Readable | null) ?? undefined };
}
