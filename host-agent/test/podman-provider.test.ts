/**
 * The podman provider for real: containers started with podman, the RFB greeting read over the published port,
 * secrets checked inside the container and in every process's argv. Uses localhost/bmc-console:latest when built,
 * else a stub image answering the RFB greeting (see support/console-image.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureFrame, RfbClient, waitForRfbGreeting } from '@bmc-console/common/rfb/client';
import { startEmulator } from '@bmc-console/bmc-emulator/emulator';
import { hostAddress } from '@bmc-console/bmc-emulator/host-address';
import { kvmMarkerColor, showsMarker } from '@bmc-console/bmc-emulator/marker';
import { CONTAINER_CA_PATH } from '../src/ca-mount.js';
import type { ConsoleAgent } from '../src/console-agent.js';
import { PodmanProvider } from '../src/providers/podman/provider.js';
import { POOL_NAME_PREFIX } from '../src/providers/podman/pool.js';
import { appInfo, makeAgent, NASTY_PASSWORD, tokenOf } from './support/agent-fixture.js';
import { consoleImage, stubImage } from './support/console-image.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';
import { rfbEndpoint } from '@bmc-console/common/contracts/agent-api';

/** A container console's start result with its RFB endpoint required. */
const withRfb = <T extends { node: string; host?: string | undefined; port?: number | undefined }>(r: T) => ({
  ...r,
  ...rfbEndpoint(r),
});

const image = consoleImage();
const stub = stubImage();
const skip = 'skip' in image ? image.skip : 'skip' in stub ? stub.skip : undefined;
if (skip) console.warn(`podman provider tests skipped: ${skip}`);
else
  console.info(
    `podman provider tests: console image ${'image' in image ? image.image : ''}, provider mechanics on ${'image' in stub ? stub.image : ''}`,
  );
const agents: ConsoleAgent[] = [];
/** The real image starts Xvfb, x11vnc and Chromium; a busy 2-core machine needs time (not a timed assertion). */
const SLOW = 300_000;

async function podmanAgent(extra: Record<string, unknown> = {}, img = image) {
  // wait_for_ready_timeout is a bound, not a timed assertion: a busy machine may need long for Xvfb/x11vnc/Chromium.
  const { agent } = await makeAgent({
    container_provider: 'podman',
    console_image: 'image' in img ? img.image : '',
    container_pull: 'never',
    wait_for_ready_timeout: 200,
    agent_host: `t${process.pid}${Math.random().toString(36).slice(2, 6)}`,
    ...extra,
  });
  agents.push(agent);
  return agent;
}

/** The container's environment as its processes see it (`env -0` in the real image, node in the stub). */
function containerEnv(name: string): Record<string, string> {
  const r = spawnSync('podman', ['exec', name, 'env', '-0'], { encoding: 'utf8' });
  const text =
    r.status === 0
      ? r.stdout
      : execFileSync(
          'podman',
          [
            'exec',
            name,
            'node',
            '-e',
            "for (const [k, v] of Object.entries(process.env)) process.stdout.write(k + '=' + v + '\\0')",
          ],
          { encoding: 'utf8' },
        );
  return Object.fromEntries(
    text
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** As the console's user (uid 1000): the stub image runs as root, which holds no DAC_OVERRIDE in a console. */
function containerFile(name: string, file: string): string {
  const r = spawnSync('podman', ['exec', '--user', '1000', name, 'cat', file], { encoding: 'utf8' });
  return r.status === 0
    ? r.stdout
    : execFileSync(
        'podman',
        [
          'exec',
          '--user',
          '1000',
          name,
          'node',
          '-e',
          `process.stdout.write(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'))`,
        ],
        { encoding: 'utf8' },
      );
}

function allCmdlines(): string {
  let out = '';
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      out += `${readFileSync(`/proc/${pid}/cmdline`, 'utf8')}\n`;
    } catch {
      /* the process ended */
    }
  }
  return out;
}

/** Lines of `podman ps --format <format>` for the running containers with `label` (k=v). */
function running(label: string, format = '{{.Names}}'): string[] {
  return execFileSync('podman', ['ps', '--format', format, '--filter', `label=${label}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

/** Ids of every container (running or not) of an agent: '' when it left nothing. */
function leftBy(agentHost: string): string {
  return execFileSync('podman', ['ps', '--all', '--quiet', '--filter', `label=io.bmc-console.agent=${agentHost}`], {
    encoding: 'utf8',
  }).trim();
}

/** A VNC client with `password` asks for frames until the emulated iDRAC's KVM marker is on screen. */
async function waitForKvm(at: { host: string; port: number }, password: string): Promise<void> {
  const colour = kvmMarkerColor('idrac9');
  const client = await RfbClient.connect({ host: at.host, port: at.port, password, timeoutMs: 20_000 });
  try {
    const deadline = Date.now() + 120_000; // a bound for a busy machine, not a timed assertion
    for (;;) {
      await client.requestUpdate(false);
      if (showsMarker(client.framebuffer, colour)) return;
      if (Date.now() > deadline) throw new Error('the KVM was not on screen within 120 s');
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    client.close();
  }
}

/**
 * The console's processes seen from the host (`podman top … hpid args`): the user namespaces of Chromium's browser
 * process and of its renderer (different when the namespace sandbox works), and every process's effective
 * capabilities and no_new_privs flag (distinct values). Waits up to 60 s for the renderer.
 */
async function chromiumSandboxOf(
  name: string,
): Promise<{ browserUserNs: string; rendererUserNs: string; capEff: bigint[]; noNewPrivs: string[] }> {
  for (let i = 0; ; i++) {
    const rows = execFileSync('podman', ['top', name, 'hpid', 'args'], { encoding: 'utf8' })
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => {
        const m = /^\s*(\d+)\s+(.*)$/.exec(l);
        return { hpid: m?.[1] ?? '', args: m?.[2] ?? '' };
      });
    const browser = rows.find((r) => /chromium\/chromium /.test(r.args) && !r.args.includes('--type='));
    const renderer = rows.find((r) => r.args.includes('--type=renderer'));
    if (browser && renderer) {
      const status = (pid: string, key: string) =>
        /^(\S+):\s*(\S+)/m.exec(
          readFileSync(`/proc/${pid}/status`, 'utf8')
            .split('\n')
            .find((l) => l.startsWith(`${key}:`)) ?? '',
        )?.[2] ?? '';
      // Chromium's own sandboxed processes hold capabilities inside their user namespace, which grant nothing outside it.
      const outside = rows.filter((r) => !/--type=(zygote|renderer|utility|gpu-process)/.test(r.args));
      return {
        browserUserNs: readlinkSync(`/proc/${browser.hpid}/ns/user`),
        rendererUserNs: readlinkSync(`/proc/${renderer.hpid}/ns/user`),
        capEff: [...new Set(outside.map((r) => BigInt(`0x${status(r.hpid, 'CapEff')}`)))],
        noNewPrivs: [...new Set(rows.map((r) => status(r.hpid, 'NoNewPrivs')))],
      };
    }
    if (i >= 120)
      throw new Error(
        `no Chromium browser and renderer in ${name}:\n${rows.map((r) => r.args.slice(0, 100)).join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('connect', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });
}

afterAll(async () => {
  for (const a of agents) await a.stopAll().catch(() => undefined);
});

describe.skipIf(!!skip)('podman provider (real podman)', () => {
  it(
    'starts a console, waits for the RFB greeting, keeps secrets out of argv, stops and leaves nothing',
    async () => {
      const agent = await podmanAgent();
      const node = `pod-${process.pid}-a`;
      const name = `bmc-console-${node}`;
      const info = appInfo();
      const started = withRfb(await agent.start({ node, appInfo: info }));
      expect(started.host).toBe('127.0.0.1');
      expect(await waitForRfbGreeting(started.host, started.port, 5000)).toMatch(/^RFB 003\.00\d/);

      // The secrets reach the container unchanged...
      const v = await agent.verify(node, tokenOf(started.url));
      if (!v.ok) throw new Error(`token refused: ${v.reason}`);
      // (the default: podman secrets mounted as files, named by APP_INFO_FILE / VNC_PASSWORD_FILE)...
      const env = containerEnv(name);
      expect(env.APP_INFO ?? '{}').toBe('{}'); // only the image's default: the real value is in the file
      expect(JSON.parse(containerFile(name, env.APP_INFO_FILE!))).toEqual(info);
      expect(containerFile(name, env.VNC_PASSWORD_FILE!)).toBe(v.target.vncPassword);
      expect(env).toMatchObject({ APP: 'redfish-graphical', READ_ONLY: 'False' });
      // ...and `podman inspect`, which lists every environment value, shows neither.
      const inspected = execFileSync('podman', ['inspect', name], { encoding: 'utf8' });
      expect(inspected).not.toContain('Ä€🔑');
      expect(inspected).not.toContain(v.target.vncPassword!);
      if ('real' in image && image.real) {
        // x11vnc in the real image requires the agent's per-console password.
        const frame = await captureFrame({
          host: started.host,
          port: started.port,
          password: v.target.vncPassword!,
          timeoutMs: 60_000,
        });
        expect(frame.width * frame.height).toBeGreaterThan(0);
        await expect(
          captureFrame({ host: started.host, port: started.port, password: 'wrong!!1', timeoutMs: 60_000 }),
        ).rejects.toThrow();
        // Hardened (no capability, no new privileges), and Chromium's sandbox still works under it.
        const sandbox = await chromiumSandboxOf(name);
        expect(sandbox.rendererUserNs, 'a renderer in its own user namespace').not.toBe(sandbox.browserUserNs);
        expect(sandbox.capEff).toEqual([0n]);
        expect(sandbox.noNewPrivs).toEqual(['1']);
      }
      // ...and appear in no process's argv (podman, conmon, slirp4netns, the container's processes).
      const cmdlines = allCmdlines();
      expect(cmdlines).not.toContain('Ä€🔑');
      expect(cmdlines).not.toContain(v.target.vncPassword!);
      const provider = new PodmanProvider({ config: agent.config, log: agent.log });
      const { args } = provider.runArgs({
        node,
        app: 'redfish-graphical',
        appInfo: info,
        readOnly: false,
        vncPassword: v.target.vncPassword!,
      });
      expect(args.join(' ')).not.toContain(NASTY_PASSWORD.slice(0, 4));
      for (const cap of ['SETUID', 'SETGID', 'DAC_OVERRIDE', 'NET_RAW'])
        expect(args.join(' ')).toContain(`--cap-drop ${cap}`);
      expect(args.join(' ')).not.toMatch(/cap-drop (ALL|SYS_CHROOT)/); // Chromium's sandbox needs chroot (container-security.ts)
      expect(args).toEqual(expect.arrayContaining(['--security-opt', 'no-new-privileges']));
      expect(args).toEqual(
        expect.arrayContaining([
          '--init',
          '--rm',
          '--publish',
          '127.0.0.1::5900',
          '--network',
          'slirp4netns',
          '--shm-size',
          '512m',
        ]),
      );
      const labels = execFileSync('podman', ['inspect', name, '--format', '{{json .Config.Labels}}'], {
        encoding: 'utf8',
      });
      expect(JSON.parse(labels)).toMatchObject({
        'io.bmc-console.node': node,
        'io.bmc-console.agent': agent.config.agent_host,
      });

      expect(await agent.stop(node)).toEqual({ node, wasRunning: true });
      expect(
        execFileSync('podman', ['ps', '--all', '--quiet', '--filter', `name=^${name}$`], { encoding: 'utf8' }).trim(),
      ).toBe('');
      expect(await refused(started.port)).toBe(true);
      expect(await agent.verify(node, tokenOf(started.url))).toEqual({ ok: false, reason: 'revoked' });
    },
    SLOW,
  );

  it(
    'with podman secrets and a CA file: values round-trip (a stale secret replaced), CA mounted read-only, secrets removed on stop',
    async () => {
      const agent = await podmanAgent({ container_credentials: 'secret' }, stub);
      const node = `pod-${process.pid}-b`;
      const name = `bmc-console-${node}`;
      const ca = join(tempDir('agent-ca-'), 'bmc-ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n');
      const info = appInfo({ verify_ca: ca });
      // A container and its secret left by an earlier run (say its agent crashed): replaced, not an error.
      execFileSync('podman', ['secret', 'create', '--env', `${name}-app-info`, 'STALE_VALUE'], {
        env: { ...process.env, STALE_VALUE: '{"stale":true}' },
      });
      const staleId = execFileSync(
        'podman',
        ['create', '--name', name, '--secret', `${name}-app-info`, 'image' in stub ? stub.image : ''],
        { encoding: 'utf8' },
      ).trim();
      await agent.start({ node, appInfo: info });
      expect(execFileSync('podman', ['inspect', name, '--format', '{{.Id}}'], { encoding: 'utf8' }).trim()).not.toBe(
        staleId,
      );
      const inside = JSON.parse(containerFile(name, containerEnv(name).APP_INFO_FILE!)) as Record<string, unknown>;
      expect(inside).toEqual({ ...info, verify_ca: CONTAINER_CA_PATH });
      expect(containerFile(name, CONTAINER_CA_PATH)).toBe(readFileSync(ca, 'utf8'));
      expect(execFileSync('podman', ['inspect', name], { encoding: 'utf8' })).not.toContain(NASTY_PASSWORD);
      expect(execFileSync('podman', ['secret', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' })).toContain(
        `${name}-app-info`,
      );
      await agent.stop(node);
      expect(execFileSync('podman', ['secret', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' })).not.toContain(
        name,
      );
    },
    SLOW,
  );

  it(
    'replaces a container of the same name left by an earlier run',
    async () => {
      const agent = await podmanAgent({ container_credentials: 'env' }, stub);
      const node = `pod-${process.pid}-f`;
      const name = `bmc-console-${node}`;
      const staleId = execFileSync('podman', ['create', '--name', name, 'image' in stub ? stub.image : ''], {
        encoding: 'utf8',
      }).trim();
      const started = withRfb(await agent.start({ node, app: 'fake', appInfo: {} }));
      expect(execFileSync('podman', ['inspect', name, '--format', '{{.Id}}'], { encoding: 'utf8' }).trim()).not.toBe(
        staleId,
      );
      await waitForRfbGreeting(started.host, started.port, 10_000);
      await agent.stop(node);
    },
    SLOW,
  );

  it(
    'reconciles with reality: a killed container is marked died, an unknown one is stopped',
    async () => {
      const agent = await podmanAgent({}, stub);
      const dies = `pod-${process.pid}-c`;
      const stranger = `pod-${process.pid}-d`;
      await agent.start({ node: dies, app: 'fake', appInfo: {} });
      execFileSync('podman', ['rm', '--force', '--time', '2', `bmc-console-${dies}`]);
      // A console this agent never recorded (e.g. its state was lost), carrying its label.
      await new PodmanProvider({ config: agent.config, log: agent.log }).start({
        node: stranger,
        app: 'fake',
        appInfo: {},
        readOnly: false,
      });
      expect(await agent.reconcile()).toEqual({ died: [dies], stoppedUnknown: [stranger] });
      expect((await agent.status(dies))[0]?.status).toBe('died');
      expect(leftBy(agent.config.agent_host)).toBe('');
    },
    SLOW,
  );

  it('names the node and cause when the image does not exist', async () => {
    const agent = await podmanAgent({ console_image: 'localhost/no-such-console-image:none' });
    const err = (await agent
      .start({ node: `pod-${process.pid}-e`, appInfo: appInfo() })
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(new RegExp(`^node pod-${process.pid}-e: podman provider: podman run failed`));
    expect(err.message).not.toContain('Ä€');
  });

  it.skipIf(!('real' in image && image.real))(
    'pool (container_pool_size 1): a start takes a warm console and gives it the node on stdin; the emulated iDRAC shows; stop-all drains the pool',
    async () => {
      // Consoles do not reach the host's loopback: the emulator listens on this machine's interface address.
      const emu = await startEmulator({ vendor: 'idrac9', host: hostAddress() });
      const agent = await podmanAgent({ container_pool_size: 1, kvm_release_after: 60 });
      const host = agent.config.agent_host;
      const pooledNames = () => running(`io.bmc-console.pool=${host}`).filter((n) => n.startsWith(POOL_NAME_PREFIX));
      const node = `pod-${process.pid}-pool`;
      const name = `bmc-console-${node}`;
      try {
        await agent.prepare();
        const [pooled] = pooledNames();
        expect(pooled).toBeDefined();
        // Warm: the console shows its "waiting" page.
        for (
          let i = 0;
          i < 600 &&
          !execFileSync('podman', ['logs', pooled!], { encoding: 'utf8' }).includes('waiting to be assigned a node');
          i++
        )
          await new Promise((r) => setTimeout(r, 200));

        const info = {
          address: emu.url,
          username: emu.username,
          password: emu.password,
          verify_ca: false,
          node_uuid: node,
        };
        const started = withRfb(await agent.start({ node, appInfo: info }));
        // The pooled container became the node's console: renamed, nothing else started.
        expect(pooledNames()).toEqual([]);
        expect(running(`io.bmc-console.agent=${host}`)).toEqual([name]);
        expect((await agent.status(node))[0]).toMatchObject({ node, status: 'running' });
        const v = await agent.verify(node, tokenOf(started.url));
        if (!v.ok) throw new Error(`token refused: ${v.reason}`);

        // The node's VNC password opens it, and its first viewer gets the emulated iDRAC's KVM.
        await waitForKvm(started, v.target.vncPassword!);
        await expect(
          captureFrame({ host: started.host, port: started.port, password: 'wrong!!1', timeoutMs: 30_000 }),
        ).rejects.toThrow();
        expect(emu.state().liveKvmSessions).toBe(1);
        // The node's secrets are in no argv, no environment, no inspect output and no log.
        for (const text of [
          allCmdlines(),
          JSON.stringify(containerEnv(name)),
          execFileSync('podman', ['inspect', name], { encoding: 'utf8' }),
          execFileSync('podman', ['logs', name], { encoding: 'utf8' }),
        ]) {
          expect(text).not.toContain(emu.password);
          expect(text).not.toContain(v.target.vncPassword!);
        }

        // The pool is refilled behind the start; stop-all stops the node's console and removes the pooled one.
        await agent.prepare();
        expect(pooledNames()).toHaveLength(1);
        await agent.stopAll();
        expect(leftBy(host)).toBe('');
      } finally {
        await emu.close();
      }
    },
    SLOW,
  );

  it.skipIf(!('real' in image && image.real))(
    'pool, resident agent (serve): the claim is opened ahead; a node whose verify_ca names a CA bundle file gets the pooled console and keeps its browser; the bundle travels in the assignment',
    async () => {
      const caDir = tempDir('pool-ca-');
      const emu = await startEmulator({ vendor: 'idrac9', caDir, host: hostAddress() });
      const agent = await podmanAgent({ container_pool_size: 1 });
      const host = agent.config.agent_host;
      const node = `pod-${process.pid}-poolca`;
      const execSessions = (name: string) =>
        execFileSync('podman', ['inspect', name, '--format', '{{len .ExecIDs}}'], { encoding: 'utf8' }).trim();
      // prepare() spawns the claim's `podman exec` and returns; podman registers the exec session a moment later
      // (a start meanwhile writes to the exec's stdin pipe all the same). So the count is read until it is `want`, up to 5 s.
      const execSessionsSettled = async (name: string, want: string) => {
        for (let i = 0; i < 50 && execSessions(name) !== want; i++) await new Promise((r) => setTimeout(r, 100));
        return execSessions(name);
      };
      try {
        await agent.prepare({ resident: true });
        const [pooled] = running(`io.bmc-console.pool=${host}`);
        expect(pooled).toBeDefined();
        // The claim is open: one `podman exec … bmc-console assign` waits in the pooled console for its stdin.
        expect(await execSessionsSettled(pooled!, '1')).toBe('1');
        const info = {
          address: emu.url,
          username: emu.username,
          password: emu.password,
          verify_ca: emu.caFile!,
          node_uuid: node,
        };
        const started = withRfb(await agent.start({ node, appInfo: info }));
        // The pooled console became the node's: no CA file was mounted (it could not be), the bundle is inside.
        expect(running(`io.bmc-console.agent=${host}`)).toEqual([`bmc-console-${node}`]);
        expect(
          execFileSync(
            'podman',
            [
              'inspect',
              `bmc-console-${node}`,
              '--format',
              '{{len .Mounts}} {{index .Config.Labels "io.bmc-console.pool"}}',
            ],
            { encoding: 'utf8' },
          ).trim(),
        ).toBe(`0 ${host}`);
        const v = await agent.verify(node, tokenOf(started.url));
        if (!v.ok) throw new Error(`token refused: ${v.reason}`);
        await waitForKvm(started, v.target.vncPassword!);
        // The waiting Chromium had made no TLS connection, so it took the imported bundle up: no relaunch.
        expect(execFileSync('podman', ['logs', `bmc-console-${node}`], { encoding: 'utf8' })).not.toMatch(
          /launching a fresh browser/,
        );
        // The refill opens the next claim; dispose() closes it and leaves that console waiting, unassigned.
        await agent.prepare({ resident: true });
        const [next] = running(`io.bmc-console.pool=${host}`).filter((n) => n.startsWith(POOL_NAME_PREFIX));
        expect(await execSessionsSettled(next!, '1')).toBe('1');
        await agent.dispose();
        expect(await execSessionsSettled(next!, '0')).toBe('0');
        expect(execFileSync('podman', ['logs', next!], { encoding: 'utf8' })).not.toMatch(
          /"msg":"starting the console"/,
        );
        await agent.stopAll();
        expect(leftBy(host)).toBe('');
      } finally {
        await emu.close();
      }
    },
    SLOW,
  );

  it.skipIf(!('real' in image && image.real))(
    'pool: two agents that share the pool and start at once take its one console once; the other starts cold',
    async () => {
      const host = `t${process.pid}race`;
      const a = await podmanAgent({ container_pool_size: 1, agent_host: host });
      const b = await podmanAgent({ container_pool_size: 1, agent_host: host, state_dir: tempDir('agent-state-') });
      await a.prepare();
      const [pooled] = running(`io.bmc-console.pool=${host}`);
      expect(pooled).toBeDefined();
      const nodes = [`pod-${process.pid}-r1`, `pod-${process.pid}-r2`];
      const started = await Promise.all([
        a.start({ node: nodes[0]!, appInfo: appInfo() }),
        b.start({ node: nodes[1]!, appInfo: appInfo() }),
      ]);
      // Both answer on their own port; exactly one of them is the pooled container (same port as it had).
      expect(new Set(started.map((s) => s.port)).size).toBe(2);
      for (const s of started.map(withRfb)) expect(await waitForRfbGreeting(s.host, s.port, 10_000)).toMatch(/^RFB/);
      const names = running(`io.bmc-console.agent=${host}`).sort();
      expect(names).toEqual(nodes.map((n) => `bmc-console-${n}`).sort());
      const fromPool = names.filter(
        (n) =>
          execFileSync('podman', ['inspect', n, '--format', '{{index .Config.Labels "io.bmc-console.pool"}}'], {
            encoding: 'utf8',
          }).trim() === host,
      );
      expect(fromPool).toHaveLength(1);
      await a.stopAll();
      expect(leftBy(host)).toBe('');
    },
    SLOW,
  );

  it.skipIf(!('real' in image && image.real))(
    'pool: a fill replaces pooled consoles of another image (console_image rebuilt or changed)',
    async () => {
      const host = `t${process.pid}img`;
      const old = await podmanAgent({ container_pool_size: 1, agent_host: host, container_credentials: 'env' }, stub);
      await old.prepare();
      const pooled = () => running(`io.bmc-console.pool=${host}`, '{{.Names}} {{.Image}}');
      expect(pooled()).toHaveLength(1);
      expect(pooled()[0]).toContain('agent-stub');
      const current = await podmanAgent({ container_pool_size: 1, agent_host: host });
      await current.prepare();
      expect(pooled()).toHaveLength(1);
      expect(pooled()[0]).toContain('localhost/bmc-console:latest');
      await current.stopAll();
    },
    SLOW,
  );

  it(
    'pool: a start the pool cannot serve (APP=fake) starts cold and leaves the pool alone',
    async () => {
      const agent = await podmanAgent({ container_pool_size: 1, container_credentials: 'env' }, stub);
      await agent.prepare();
      const pooled = running(`io.bmc-console.pool=${agent.config.agent_host}`);
      expect(pooled).toHaveLength(1);
      expect(pooled[0]!.startsWith(POOL_NAME_PREFIX)).toBe(true);
      const node = `pod-${process.pid}-cold`;
      await agent.start({ node, app: 'fake', appInfo: {} });
      expect(running(`io.bmc-console.pool=${agent.config.agent_host}`)).toEqual(pooled);
      expect((await agent.status()).map((c) => c.node)).toEqual([node]);
      // The pooled console is no node's: reconcile leaves it be.
      expect(await agent.reconcile()).toEqual({ died: [], stoppedUnknown: [] });
      await agent.stopAll();
      expect(leftBy(agent.config.agent_host)).toBe('');
    },
    SLOW,
  );
});
