// Every command README.md and docs/*.md show in a sh/bash/shell/console block runs here as written, from the
// repository root with the project's Node on PATH (scripts/lib.sh), so a doc that drifts from the code fails a test.
// A command this host cannot run honestly (a real BMC, root-only paths, a display) is either pointed at the emulator
// by replacing only its placeholder, which the test name says, or reported skipped with the reason: never passed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docCommands, type DocCommand } from '../src/doc-commands.js';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'bmc-docs-commands-'));
// Output paths the docs name outright; removed afterwards only if this run made them.
const DOC_OUTPUTS = ['/tmp/ilo6'].filter((p) => !existsSync(p));

interface Emulator {
  url: string;
  password: string;
  caFile: string;
}

/** What the test needs besides the repository: an emulated BMC, a TLS key pair. */
interface Needs {
  emulator?: Emulator;
  tls?: { cert: string; key: string };
}

interface Run {
  how: 'run';
  /** Added to the test name: what was changed and why, when the command does not run exactly as written. */
  note?: string;
  needs?: { emulator?: boolean; tls?: boolean; image?: boolean };
  /** Replaces placeholders only (a BMC address, a root-only path); the rest of the command stays as written. */
  substitute?: (command: string, needs: Needs) => string;
  /** Our programs on PATH as an installation puts them (node_modules/.bin holds the same bins). */
  installed?: boolean;
  stdin?: string;
  exitCode?: number;
  output?: RegExp;
  /** A server: it passes once its output matches, then it gets SIGTERM and must exit 0. */
  readyOutput?: RegExp;
  /** Shell run after a passing command, e.g. to check what it started and remove it. */
  after?: (command: string) => string;
  /** A TCP address the command started, which must greet as RFB. */
  rfbAt?: (command: string) => { host: string; port: number };
  timeoutMs?: number;
}
interface Skip {
  how: 'skip';
  reason: string;
}
type Annotation = { match: RegExp } & (Run | Skip);

const fakeConsole = `console-docs-${process.pid}`;
const fakeConsolePort = 20000 + (process.pid % 20000);

// First match wins; a command no row matches must run as written and exit 0 within a minute.
const annotations: Annotation[] = [
  // scripts/demo.sh is scripts/setup.sh (npm ci would replace the node_modules this run uses; npm test runs it) and
  // then the demo program, which runs here until its ready line.
  {
    match: /^npm run demo\b/,
    how: 'run',
    note: 'the demo program after its setup step, --json --port 0 for a ready line on any free port',
    substitute: () => 'node --conditions=source --import tsx tests/src/demo.ts --json --port 0',
    needs: { image: true },
    readyOutput: /^\{"url":"http/m,
    timeoutMs: 120_000,
  },
  { match: /^npm test\b/, how: 'skip', reason: 'the whole suite this test is part of: CI runs it (.ci/run)' },
  {
    match: /^npm run image:build\b/,
    how: 'skip',
    reason:
      'rebuilds the image other tests share; every npm test builds it (scripts/setup.sh runs scripts/image-build.sh)',
  },
  {
    match: /(^|\s)npm run bench\b/,
    how: 'skip',
    reason: 'the benchmark itself takes minutes of both cores; bench/test covers its code, it runs by hand',
  },
  {
    match: /^bash scripts\/ironic-image\.sh\b/,
    how: 'skip',
    reason: 'builds the Ironic 29 image: npm test builds it once for tests/ironic (scripts/test.sh)',
  },
  {
    match: /^podman run --rm -e BMC_CONSOLE_IRONIC_STANDINS=0 /,
    how: 'skip',
    reason: 'the plugin suite in the Ironic image: tests/ironic runs it under npm test',
  },
  {
    match: /^export CONTAINERS_CONF=\$PWD\/deploy\/containers\.conf/,
    how: 'run',
    after: () => 'export CONTAINERS_CONF=$PWD/deploy/containers.conf && test -r "$CONTAINERS_CONF"',
  },
  { match: /^read -rs BMC_PASSWORD$/, how: 'run', note: 'the password typed on stdin', stdin: 'not-a-real-password\n' },
  {
    match: /^APP_INFO=.*\n?.*podman run .*--name console-node1/s,
    how: 'skip',
    reason:
      'a real BMC at https://10.0.0.5; tests/e2e/console-per-vendor.test.ts runs the image with APP=redfish-graphical against the emulator',
  },
  { match: /^podman port console-node1 /, how: 'skip', reason: 'needs the real-BMC console of the command above' },
  {
    match: /^podman run -d --init --name console-test /,
    how: 'run',
    needs: { image: true },
    note: 'container name and host port made unique, other tests share this host',
    substitute: (c) =>
      c
        .replace('--name console-test', `--name ${fakeConsole}`)
        .replace('127.0.0.1:5901:5900', `127.0.0.1:${fakeConsolePort}:5900`),
    rfbAt: () => ({ host: '127.0.0.1', port: fakeConsolePort }),
    after: () => `podman rm -f -t 2 ${fakeConsole} >/dev/null`,
    timeoutMs: 90_000,
  },
  {
    match: /^vncviewer /,
    how: 'skip',
    reason: 'a VNC viewer window needs a display; the RFB greeting of the console above is checked instead',
  },
  {
    match: /^cat > \/run\/console-node-a\.env/,
    how: 'skip',
    reason: 'writes root-only /run for a real BMC at https://10.0.0.5',
  },
  {
    match: /^chmod 600 \/run\/console-node-a\.env/,
    how: 'skip',
    reason: 'the root-only env file of the command above',
  },
  {
    match: /^podman (run .*--name console-node-a|port console-node-a)/s,
    how: 'skip',
    reason:
      'a real BMC at https://10.0.0.5 (the same contract runs against the emulator in tests/e2e/console-per-vendor.test.ts)',
  },
  {
    match: /podman exec -i <container> bmc-console assign/,
    how: 'skip',
    reason: '<container> is a pool console of the agent; host-agent/test covers assign through the pool',
  },
  {
    match: /^bmc-console-agent start --node /,
    how: 'skip',
    reason:
      "starts a console for a real BMC at https://10.0.0.5 with this host's agent state; host-agent/test covers the CLI with a fake provider",
  },
  {
    match: /bmc-console-proxy direct probe .*--address https:\/\/10\.0\.0\.5/s,
    how: 'skip',
    reason: 'a real iDRAC at https://10.0.0.5; proxy/test/direct-probe.test.ts runs the probe against the emulator',
  },
  {
    match: /^bmc-console-agent (url|stop) --node /,
    how: 'skip',
    reason: 'needs the console the start command above starts',
  },
  {
    match: /^bmc-console-proxy \\\n/,
    how: 'run',
    installed: true,
    needs: { tls: true },
    note: 'certificate from a temp dir instead of /etc/bmc-console, any free port instead of 6090',
    substitute: (c, n) =>
      c
        .replace('/etc/bmc-console/tls.crt', n.tls?.cert ?? '')
        .replace('/etc/bmc-console/tls.key', n.tls?.key ?? '')
        .replace('--port 6090', '--port 0'),
    readyOutput: /"event":"ready"/,
  },
  {
    match: /^BMC_EMULATOR_PASSWORD=secret bmc-emulator /,
    how: 'run',
    installed: true,
    readyOutput: /^\{"url":"https:/m,
  },
  {
    match: /^BMC_PASSWORD=\.\.\. bmc-console detect --url https:\/\/10\.0\.0\.5 /,
    how: 'run',
    installed: true,
    needs: { emulator: true },
    note: 'against the emulator: its URL, password and CA file for the placeholders',
    substitute: (c, n) =>
      c
        .replace('BMC_PASSWORD=...', `BMC_PASSWORD=${n.emulator?.password}`)
        .replace('https://10.0.0.5', n.emulator?.url ?? '')
        .replace('/etc/bmc-ca.pem', n.emulator?.caFile ?? ''),
    output: /"family":\s*"idrac"/,
  },
  {
    match: /^bmc-console detect --fixture \/path\/to\/capture-dir/,
    how: 'skip',
    reason:
      'a placeholder for a capture directory; captures are optional test data (BMC_REDFISH_CAPTURES) for image/test/discovery-fixtures.test.ts',
  },
  {
    match: /^BMC_PASSWORD=\.\.\. bmc-console try --url https:\/\/10\.0\.0\.5 .*--headed --hold/,
    how: 'skip',
    reason:
      'a real BMC, a display for --headed, and --hold waits for Ctrl-C; the same try runs against the emulator above',
  },
  { match: /try --vendor \S+ --fault /, how: 'run', exitCode: 1, output: /^failed \(/m, timeoutMs: 90_000 },
  { match: /try --vendor /, how: 'run', output: /closed \(logged out\)/, timeoutMs: 90_000 },
];

/** Runs `command` with bash from the repository root after scripts/lib.sh, as the README's setup leaves a shell. */
function sh(
  command: string,
  opts: { installed?: boolean; stdin?: string; timeoutMs: number; readyOutput?: RegExp },
): Promise<{ code: number | null; output: string; ready: boolean }> {
  const bin = opts.installed ? 'export PATH="$ROOT/node_modules/.bin:$PATH"\n' : '';
  // The trap keeps bash alive through the SIGTERM that stops a server, so its exit code is the server's own.
  const script = `source scripts/lib.sh >/dev/null\ncd "$ROOT"\ntrap : TERM\n${bin}${command}\n`;
  return new Promise((done, fail) => {
    // TMPDIR: what a command leaves in the temp dir (try's screenshots) goes with this file's temp dir.
    const env = { ...process.env, TMPDIR: work };
    const child = spawn('bash', ['-c', script], { cwd: root, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let ready = false;
    const stop = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      output += `\n[timed out after ${opts.timeoutMs} ms]`;
      stop('SIGKILL');
    }, opts.timeoutMs);
    const onData = (b: Buffer) => {
      output += b.toString();
      // A moment after the ready line, for wrappers (npx, npm run) between the shell and the program.
      if (opts.readyOutput && !ready && opts.readyOutput.test(output)) {
        ready = true;
        setTimeout(() => stop('SIGTERM'), 500);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output, ready });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

function rfbGreeting(host: string, port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const once = () =>
    new Promise<string>((done) => {
      const s = connect({ host, port });
      let got = '';
      const finish = () => {
        s.destroy();
        done(got);
      };
      s.setTimeout(3000, finish);
      s.on('data', (b) => {
        got += b.toString('latin1');
        if (got.length >= 12) finish();
      });
      s.on('error', finish);
      s.on('close', finish);
    });
  return (async () => {
    for (;;) {
      const got = await once();
      if (got.startsWith('RFB ') || Date.now() > deadline) return got;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
}

let emulator: Promise<{ emu: Emulator; stop: () => void }> | undefined;
function startEmulator(): Promise<{ emu: Emulator; stop: () => void }> {
  emulator ??= new Promise((done, fail) => {
    const child = spawn(
      'node',
      [
        '--conditions=source',
        '--import',
        'tsx',
        'bmc-emulator/src/cli.ts',
        '--vendor',
        'idrac9',
        '--listen',
        '127.0.0.1:0',
        '--ca-dir',
        join(work, 'ca'),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const emu = JSON.parse(line) as Emulator;
        done({ emu, stop: () => child.kill('SIGTERM') });
      }
    });
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`bmc-emulator exited ${code}: ${out}`)));
  });
  return emulator;
}

function tlsPair(): Promise<{ cert: string; key: string }> {
  const cert = join(work, 'tls.crt');
  const key = join(work, 'tls.key');
  return sh(
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 -keyout '${key}' -out '${cert}'`,
    { timeoutMs: 30_000 },
  ).then((r) => {
    if (r.code !== 0) throw new Error(r.output);
    return { cert, key };
  });
}

async function imageMissing(): Promise<string | undefined> {
  const r = await sh('podman image exists localhost/bmc-console:latest', { timeoutMs: 30_000 });
  return r.code === 0 ? undefined : 'localhost/bmc-console:latest is not built on this host (npm run image:build)';
}

const commands: DocCommand[] = docCommands(root);
const used = new Set<Annotation>();

afterAll(async () => {
  if (emulator) (await emulator.catch(() => undefined))?.stop();
  rmSync(work, { recursive: true, force: true });
  for (const p of DOC_OUTPUTS) rmSync(p, { recursive: true, force: true });
});

describe('commands in README.md and docs/*.md', () => {
  it("reads the README's commands", () => {
    const readme = commands.filter((c) => c.where.startsWith('README.md:')).map((c) => c.command);
    expect(readme).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^npm run demo\b/),
        expect.stringMatching(/^npx bmc-console try /),
      ]),
    );
  });

  for (const c of commands) {
    const a = annotations.find((x) => x.match.test(c.command));
    if (a) used.add(a);
    const first = c.command.split('\n')[0] ?? '';
    const label = `${c.where}: ${first.length > 90 ? `${first.slice(0, 87)}...` : first}`;
    if (a?.how === 'skip') {
      it.skip(`${label} (skipped: ${a.reason})`, () => {});
      continue;
    }
    const run: Run = a ?? { how: 'run' };
    const timeoutMs = run.timeoutMs ?? 60_000;
    it(
      run.note ? `${label} (${run.note})` : label,
      async (ctx) => {
        if (run.needs?.image) {
          const why = await imageMissing();
          if (why) ctx.skip(why);
        }
        const needs: Needs = {
          ...(run.needs?.emulator ? { emulator: (await startEmulator()).emu } : {}),
          ...(run.needs?.tls ? { tls: await tlsPair() } : {}),
        };
        const command = run.substitute ? run.substitute(c.command, needs) : c.command;
        const r = await sh(command, {
          installed: run.installed,
          stdin: run.stdin,
          timeoutMs,
          readyOutput: run.readyOutput,
        });
        try {
          if (run.readyOutput) {
            expect(r.ready, r.output).toBe(true);
            expect(r.code, `stopped with SIGTERM it must exit 0:\n${r.output}`).toBe(0);
          } else {
            expect(r.code, r.output).toBe(run.exitCode ?? 0);
          }
          if (run.output) expect(r.output).toMatch(run.output);
          if (run.rfbAt) {
            const { host, port } = run.rfbAt(command);
            expect(await rfbGreeting(host, port, 60_000)).toMatch(/^RFB \d{3}\.\d{3}\n/);
          }
        } finally {
          if (run.after) {
            const post = await sh(run.after(command), { timeoutMs: 30_000 });
            expect(post.code, post.output).toBe(0);
          }
        }
      },
      timeoutMs + 90_000,
    );
  }

  it('every annotation still matches a command in the docs', () => {
    expect(annotations.filter((a) => !used.has(a)).map((a) => a.match.source)).toEqual([]);
  });
});
