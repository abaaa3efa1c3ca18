import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '@bmc-console/common/log';
import { AgentError, ConsoleAgent } from '../src/console-agent.js';
import { FakeProvider } from '../src/providers/fake.js';
import type { ConsoleEndpoint, StartRequest } from '../src/providers/provider.js';
import type { TokenStore } from '../src/tokens/token-store.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

describe('console agent with the fake provider', () => {
  it('starts, issues tokens, verifies, stops and revokes', async () => {
    const { agent } = await makeAgent();
    const started = await agent.start({ node: 'node-1', appInfo: appInfo() });
    expect(started).toMatchObject({ node: 'node-1', host: '192.0.2.1', port: 5900 });
    expect(started.url).toMatch(
      /^http:\/\/127\.0\.0\.1:6090\/\?path=websockify%3Fnode%3Dnode-1%26token%3D[A-Za-z0-9_-]{43}$/,
    );
    const second = await agent.url('node-1');
    const v1 = await agent.verify('node-1', tokenOf(started.url));
    const v2 = await agent.verify('node-1', tokenOf(second.url));
    expect(v1.ok && v2.ok).toBe(true);
    if (v1.ok) expect(v1.target.vncPassword).toMatch(/^[\x21-\x7e]{8}$/);
    expect((await agent.status('node-1'))[0]).toMatchObject({ status: 'running', validTokens: 2 });
    expect(await agent.stop('node-1')).toEqual({ node: 'node-1', wasRunning: true });
    expect(await agent.verify('node-1', tokenOf(second.url))).toEqual({ ok: false, reason: 'revoked' });
    expect(await agent.stop('node-1')).toEqual({ node: 'node-1', wasRunning: false });
  });

  it('passes read-only and the VNC password setting to the provider', async () => {
    const fake = new FakeProvider();
    const { agent } = await makeAgent({ vnc_password: false, read_only: true }, fake);
    await agent.start({ node: 'n', appInfo: appInfo() });
    expect(fake.lastRequest('n')).toMatchObject({ readOnly: true, app: 'redfish-graphical' });
    expect(fake.lastRequest('n')?.vncPassword).toBeUndefined();
    await agent.start({ node: 'n', appInfo: appInfo(), readOnly: false });
    expect(fake.lastRequest('n')?.readOnly).toBe(false);
  });

  it("lets the provider prepare after a start (the pool's refill), and a failing prepare fails nothing", async () => {
    let prepared = 0;
    class PreparingProvider extends FakeProvider {
      fail = false;
      async prepare(): Promise<void> {
        prepared++;
        if (this.fail) throw new Error('podman run failed');
      }
    }
    const fake = new PreparingProvider();
    const { agent } = await makeAgent({}, fake);
    expect(agent.needsPrepare).toBe(false);
    await agent.start({ node: 'n', appInfo: appInfo() });
    expect(agent.needsPrepare).toBe(true);
    await agent.prepare();
    expect([prepared, agent.needsPrepare]).toEqual([1, false]);
    fake.fail = true;
    await expect(agent.prepare()).resolves.toBeUndefined();
    expect(prepared).toBe(2);
  });

  it('refills while resident: at once, then container_pool_refill_delay after a start only, until disposed', async () => {
    const calls: (boolean | undefined)[] = [];
    class PreparingProvider extends FakeProvider {
      async prepare(opts: { resident?: boolean } = {}): Promise<void> {
        calls.push(opts.resident);
      }
    }
    const { agent } = await makeAgent({ container_pool_refill_delay: 2 }, new PreparingProvider());
    vi.useFakeTimers();
    try {
      agent.startPoolRefill();
      agent.startPoolRefill(); // a second call starts no second loop
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toEqual([true]);
      await vi.advanceTimersByTimeAsync(4000);
      expect(calls).toHaveLength(1); // no start, nothing to refill
      await agent.start({ node: 'n', appInfo: appInfo() });
      await vi.advanceTimersByTimeAsync(1999);
      expect(calls).toHaveLength(1); // no refill before the loop's next tick, 2 s after its last
      await vi.advanceTimersByTimeAsync(2000);
      expect([calls, agent.needsPrepare]).toEqual([[true, true], false]);
      await agent.dispose();
      await agent.start({ node: 'n', appInfo: appInfo() });
      await vi.advanceTimersByTimeAsync(10_000);
      expect(calls).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('records as record_sessions says unless a start overrides it; status, target and verify report it', async () => {
    const { agent } = await makeAgent();
    await agent.start({ node: 'plain', appInfo: appInfo() });
    await agent.start({ node: 'rec', appInfo: appInfo(), record: true });
    expect((await agent.status()).map((c) => [c.node, c.record])).toEqual([
      ['plain', false],
      ['rec', true],
    ]);
    expect(await agent.target('rec')).toMatchObject({ record: true });
    const link = await agent.url('rec', { viewOnly: true });
    expect(await agent.verify('rec', tokenOf(link.url))).toMatchObject({ ok: true, target: { record: true } });
    const { agent: recording } = await makeAgent({ record_sessions: true });
    await recording.start({ node: 'a', appInfo: appInfo() });
    await recording.start({ node: 'b', appInfo: appInfo(), record: false });
    expect((await recording.status()).map((c) => [c.node, c.record])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    // Kept in the console's state, so another agent process on the same state dir reports it too.
    expect((await recording.store.read()).consoles.a?.record).toBe(true);
    const bad = await agent
      .start({ node: 'n', appInfo: appInfo(), record: 'yes' as unknown as boolean })
      .catch((e) => e);
    expect((bad as Error).message).toBe('node n: record: expected true or false');
  });

  it('logs who each URL is for and its role (the audit line), never the token', async () => {
    const { agent: made } = await makeAgent();
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('audit-test', {
      hooks: {
        // Capture what the agent logs without printing it.
        logMethod(args) {
          const [obj, msg] = args as unknown[];
          lines.push({ ...(typeof obj === 'object' ? obj : {}), msg: typeof obj === 'string' ? obj : msg });
        },
      },
    });
    const agent = new ConsoleAgent(made.config, made.provider, made.tokens, log, made.store);
    const started = await agent.start({ node: 'au', appInfo: appInfo() });
    const link = await agent.url('au', { viewOnly: true, user: 'alice' });
    await agent.url('au', { user: 'bob', exclusive: true });
    await agent.url('au');
    expect(lines.filter((l) => l.msg === 'console URL issued')).toEqual([
      expect.objectContaining({ node: 'au', role: 'view', user: 'alice', exclusive: false }),
      expect.objectContaining({ node: 'au', role: 'control', user: 'bob', exclusive: true }),
      expect.objectContaining({ node: 'au', role: 'control', user: undefined, exclusive: false }),
    ]);
    expect(lines.find((l) => l.msg === 'console ready')).toMatchObject({ node: 'au', role: 'control' });
    const text = JSON.stringify(lines);
    for (const url of [started.url, link.url]) expect(text).not.toContain(tokenOf(url));
  });

  it('refuses a bad URL request naming the field, and issues nothing', async () => {
    const { agent } = await makeAgent();
    await agent.start({ node: 'u', appInfo: appInfo() });
    const err = await agent.url('u', { user: ' leading space' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).kind).toBe('invalid');
    expect((err as Error).message).toMatch(/^node u: user: expected a user name of 1 to 64 letters/);
    expect(((await agent.url('u', { viewOnly: true, exclusive: true }).catch((e) => e)) as Error).message).toBe(
      'node u: exclusive: a view-only link cannot ask for exclusive control',
    );
    expect((await agent.status('u'))[0]?.validTokens).toBe(1);
  });

  it('keeps tokens where the provider says (createTokenStore), else in the state file', async () => {
    const issued: string[] = [];
    class OwnTokens extends FakeProvider {
      createTokenStore(): TokenStore {
        return {
          issue: async (node) => {
            issued.push(node);
            return { token: 't'.repeat(43), expiresAt: new Date(Date.now() + 60_000) };
          },
          verify: async () => ({ ok: false, reason: 'unknown' }),
          revoke: async () => undefined,
        };
      }
    }
    const { agent } = await makeAgent({}, new OwnTokens());
    await agent.start({ node: 'n', appInfo: appInfo() });
    expect(issued).toEqual(['n']);
    expect((await agent.store.read()).tokens).toEqual([]);
    const { agent: plain } = await makeAgent();
    await plain.start({ node: 'n', appInfo: appInfo() });
    expect((await plain.store.read()).tokens).toHaveLength(1);
  });

  it('rejects bad input naming the node and the field, never the password', async () => {
    const { agent } = await makeAgent();
    const err = await agent
      .start({ node: 'node-2', appInfo: { address: 'https://x', username: 'u' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).message).toMatch(/^node node-2: appInfo\.password: /);
    const bad = await agent.start({ node: 'bad node/..', appInfo: appInfo() }).catch((e: unknown) => e);
    expect((bad as Error).message).toContain('expected a node UUID or name');
    const app = await agent.start({ node: 'n3', app: 'vnc', appInfo: appInfo() }).catch((e: unknown) => e);
    expect((app as Error).message).toBe('node n3: app: expected one of fake, redfish-graphical, got "vnc"');
    const url = await agent.url('never-started').catch((e: unknown) => e);
    expect((url as AgentError).kind).toBe('not-found');
    expect((url as Error).message).toBe('node never-started: no console is running for this node');
  });

  it('names node and cause when the provider fails, without secrets', async () => {
    class Failing extends FakeProvider {
      override async start(req: StartRequest): Promise<ConsoleEndpoint> {
        throw new Error(
          `podman run failed: bad env APP_INFO=${JSON.stringify(req.appInfo)} pw ${req.appInfo.password}`,
        );
      }
    }
    const { agent } = await makeAgent({}, new Failing());
    const err = (await agent.start({ node: 'n4', appInfo: appInfo() }).catch((e: unknown) => e)) as AgentError;
    expect(err.kind).toBe('provider');
    expect(err.message).toMatch(/^node n4: podman run failed/);
    expect(err.message).not.toContain('p\'"%$');
  });

  it('serialises start and stop of the same node', async () => {
    const events: string[] = [];
    class Slow extends FakeProvider {
      override async start(req: StartRequest): Promise<ConsoleEndpoint> {
        events.push(`start+${req.node}`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`start-${req.node}`);
        return super.start(req);
      }
      override async stop(node: string): Promise<void> {
        events.push(`stop+${node}`);
        await new Promise((r) => setTimeout(r, 10));
        events.push(`stop-${node}`);
        return super.stop(node);
      }
    }
    const { agent } = await makeAgent({}, new Slow());
    await Promise.all([
      agent.start({ node: 'x', appInfo: appInfo() }),
      agent.stop('x'),
      agent.start({ node: 'x', appInfo: appInfo() }),
      agent.stop('x'),
    ]);
    // Every operation's begin is followed by its own end: no interleaving.
    for (let i = 0; i < events.length; i += 2) expect(events[i]!.replace('+', '-')).toBe(events[i + 1]);
  });

  it('url takes the node lock: a url racing a stop never returns a token that verifies after the stop', async () => {
    let stopping: (() => void) | undefined;
    class SlowStop extends FakeProvider {
      override async stop(node: string): Promise<void> {
        stopping?.();
        await new Promise((r) => setTimeout(r, 50));
        return super.stop(node);
      }
    }
    const { agent } = await makeAgent({}, new SlowStop());
    for (let round = 0; round < 5; round++) {
      await agent.start({ node: 'race', appInfo: appInfo() });
      const inStop = new Promise<void>((r) => (stopping = r));
      const stop = agent.stop('race');
      await inStop; // the stop has revoked the tokens and waits for the provider: the state still says running
      const url = agent.url('race').then(
        (u) => ({ token: tokenOf(u.url) }),
        (e: unknown) => ({ error: e as AgentError }),
      );
      await stop;
      const r = await url;
      if ('token' in r) expect(await agent.verify('race', r.token)).toMatchObject({ ok: false });
      else expect(r.error.kind).toBe('not-found');
    }
  });

  it('takes verify_ca files only from ca_bundle_dir and names appInfo.verify_ca (not the rest of APP_INFO) when refusing', async () => {
    const dir = tempDir('agent-ca-');
    const caDir = join(dir, 'ca');
    mkdirSync(caDir);
    writeFileSync(join(caDir, 'bmc.pem'), 'CA');
    writeFileSync(join(dir, 'outside.pem'), 'CA');
    symlinkSync(join(dir, 'outside.pem'), join(caDir, 'link.pem'));
    const fake = new FakeProvider();
    const { agent } = await makeAgent({ ca_bundle_dir: caDir }, fake);
    await agent.start({ node: 'ca-ok', appInfo: appInfo({ verify_ca: join(caDir, 'bmc.pem') }) });
    expect(fake.lastRequest('ca-ok')?.appInfo.verify_ca).toBe(join(caDir, 'bmc.pem'));
    await agent.start({ node: 'ca-bool', appInfo: appInfo({ verify_ca: false }) });
    for (const path of [
      join(dir, 'outside.pem'),
      join(caDir, 'link.pem'),
      join(caDir, '..', 'outside.pem'),
      '/etc/shadow',
      join(caDir, 'missing.pem'),
      'bmc.pem',
      caDir,
    ]) {
      const err = (await agent
        .start({ node: 'ca-bad', appInfo: appInfo({ verify_ca: path }) })
        .catch((e: unknown) => e)) as AgentError;
      expect(err.kind).toBe('invalid');
      expect(err.message).toMatch(/^node ca-bad: appInfo\.verify_ca: /);
      expect(err.message).not.toContain('root');
      expect(err.message).not.toContain('p\'"');
    }
    expect(fake.lastRequest('ca-bad')).toBeUndefined();
    const { agent: defaults } = await makeAgent({ ca_bundle_dir: '/etc/bmc-console/ca' }, new FakeProvider());
    expect(
      (
        (await defaults
          .start({ node: 'ca-d', appInfo: appInfo({ verify_ca: join(caDir, 'bmc.pem') }) })
          .catch((e: unknown) => e)) as Error
      ).message,
    ).toContain('ca_bundle_dir');
  });

  it('reconciles: dead consoles are marked, unknown ones stopped', async () => {
    const fake = new FakeProvider();
    const { agent } = await makeAgent({}, fake);
    const s = await agent.start({ node: 'dies', appInfo: appInfo() });
    await fake.stop('dies'); // the container went away behind the agent's back
    await fake.start({ node: 'stranger', app: 'fake', appInfo: {}, readOnly: false });
    expect(await agent.reconcile()).toEqual({ died: ['dies'], stoppedUnknown: ['stranger'] });
    expect((await agent.status('dies'))[0]).toMatchObject({ status: 'died', validTokens: 0 });
    expect(await agent.verify('dies', tokenOf(s.url))).toEqual({ ok: false, reason: 'revoked' });
    expect(await fake.list()).toEqual([]);
    expect(((await agent.url('dies').catch((e: unknown) => e)) as Error).message).toBe(
      'node dies: the console died; start it again',
    );
  });

  it('stop-all stops known and unknown consoles', async () => {
    const fake = new FakeProvider();
    const { agent } = await makeAgent({}, fake);
    await agent.start({ node: 'a', appInfo: appInfo() });
    await fake.start({ node: 'b', app: 'fake', appInfo: {}, readOnly: false });
    expect(await agent.stopAll()).toEqual({ stopped: ['a', 'b'] });
    expect(await agent.status()).toEqual([]);
  });
});

describe('external providers', () => {
  it('loads a provider module by name (here a path) through its default-exported factory', async () => {
    const { agent } = await makeAgent({
      container_provider: new URL('./fixtures/external-provider.mjs', import.meta.url).pathname,
    });
    expect(agent.provider.name).toBe('example-external');
    const s = await agent.start({ node: 'ext-1', appInfo: appInfo() });
    expect(s).toMatchObject({ host: '198.51.100.7', port: 5901 });
    expect(await agent.reconcile()).toEqual({ died: [], stoppedUnknown: [] });
  });
});
