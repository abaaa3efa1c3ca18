/**
 * The pool's side of a start, with a recording stand-in for the podman CLI (the real engine runs in
 * podman-provider.test.ts): what a pooled console is told on stdin, and which starts it leaves to the cold path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSOLE_DEFAULTS } from '@bmc-console/common/console-env';
import { createLogger } from '@bmc-console/common/log';
import { CONTAINER_CA_PATH } from '../src/ca-mount.js';
import { agentConfigSchema } from '../src/config.js';
import { PodmanPool } from '../src/providers/podman/pool.js';
import type { CommandResult, OpenCommand } from '../src/run-command.js';

const dir = mkdtempSync(join(tmpdir(), 'pool-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** A pool over a stand-in CLI: `ps` lists one pooled console, `exec` takes the assignment, `rename` succeeds. */
function fakePool() {
  const calls: { args: string[]; input?: string }[] = [];
  /** What `ps` lists; a test changes it as other agents would. */
  let pooled = ['bmc-console--pool-0a'];
  const setPooled = (names: string[]) => (pooled = names);
  const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' }) as CommandResult;
  /** Commands started with their stdin to come (claims opened ahead); `end()` makes one exit by itself. */
  const opened: { args: string[]; input?: string; end(): void }[] = [];
  const openCli = (args: string[]): OpenCommand => {
    let exited = false;
    let resolve!: (r: CommandResult) => void;
    const done = new Promise<CommandResult>((r) => (resolve = r));
    const end = (r: CommandResult) => {
      exited = true;
      resolve(r);
      return done;
    };
    const entry: (typeof opened)[number] = {
      args,
      end: () => void end({ code: 1, stdout: '', stderr: 'container gone' }),
    };
    opened.push(entry);
    return {
      get exited() {
        return exited;
      },
      done,
      finish: (input) => {
        if (exited) return done;
        entry.input = input;
        return end(ok('{"assigned":true}'));
      },
    };
  };
  const pool = new PodmanPool({
    config: agentConfigSchema.parse({ container_pool_size: 1, agent_host: 'h', state_dir: dir }),
    log: createLogger('test', { level: 'silent' }),
    cli: async (args, _env, input) => {
      calls.push({ args, ...(input === undefined ? {} : { input }) });
      if (args[0] === 'ps')
        return ok(
          JSON.stringify(
            pooled.map((name, i) => ({
              Names: [name],
              State: 'running',
              Created: i + 1,
              Labels: { 'io.bmc-console.pool': 'h', 'io.bmc-console.port': String(41000 + i) },
            })),
          ),
        );
      return ok();
    },
    openCli,
    baseRunArgs: () => [],
    poolEnvironment: () => ({}),
    remote: () => false,
    remove: async () => undefined,
  });
  const exec = () => calls.find((c) => c.args[0] === 'exec');
  return { pool, calls, exec, opened, setPooled };
}

const request = (verify_ca: boolean | string) => ({
  node: 'n1',
  app: 'redfish-graphical' as const,
  appInfo: { address: 'https://192.0.2.1', username: 'root', password: 'calvin', verify_ca },
  readOnly: false,
  vncPassword: 'pw',
});
const port = async () => ({ host: '127.0.0.1', port: 1 });

describe('the pool hands a node to a pooled console (stand-in podman CLI)', () => {
  it('sends APP_INFO and the VNC password on stdin, never in argv', async () => {
    const { pool, exec } = fakePool();
    expect(await pool.take(request(false), port)).toEqual({ host: '127.0.0.1', port: 41000 });
    expect(exec()!.args).toEqual(['exec', '-i', 'bmc-console--pool-0a', 'bmc-console', 'assign']);
    expect(JSON.parse(exec()!.input!)).toEqual({ appInfo: request(false).appInfo, vncPassword: 'pw' });
  });

  it("serves a node whose verify_ca names a CA bundle: the bundle's text goes with the assignment", async () => {
    const ca = join(dir, 'bmc-ca.pem');
    writeFileSync(ca, PEM);
    const { pool, exec } = fakePool();
    expect(pool.serves(request(ca))).toBe(true);
    expect(await pool.take(request(ca), port)).toBeDefined();
    const sent = JSON.parse(exec()!.input!) as { appInfo: { verify_ca: string }; caBundle: string };
    expect(sent.caBundle).toBe(PEM);
    expect(sent.appInfo.verify_ca).toBe(CONTAINER_CA_PATH); // the host's path means nothing in the container
    expect(exec()!.args.join(' ')).not.toContain('BEGIN CERTIFICATE');
  });

  it('leaves a bundle it cannot hand over to the cold start, which mounts it or says what is wrong with it', async () => {
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const huge = join(dir, 'huge.pem');
    writeFileSync(huge, PEM.repeat(Math.ceil((CONSOLE_DEFAULTS.assignCaBundleMaxBytes + 1) / PEM.length)));
    for (const verify_ca of [notPem, huge, join(dir, 'missing.pem'), 'relative.pem']) {
      const { pool, exec } = fakePool();
      expect(await pool.take(request(verify_ca), port)).toBeUndefined();
      expect(exec()).toBeUndefined(); // no pooled console was asked, so none is used up
    }
  });

  it('a resident agent opens the claim ahead: a start only writes the assignment to it (no ps, no exec on its path)', async () => {
    const { pool, calls, opened } = fakePool();
    await pool.openClaimsAhead();
    await pool.openClaimsAhead(); // one claim per pooled console, however often prepared
    expect(opened.map((o) => o.args)).toEqual([['exec', '-i', 'bmc-console--pool-0a', 'bmc-console', 'assign']]);
    expect(opened[0]!.input).toBeUndefined();
    calls.length = 0;
    expect(await pool.take(request(false), port)).toEqual({ host: '127.0.0.1', port: 41000 });
    expect(JSON.parse(opened[0]!.input!)).toEqual({ appInfo: request(false).appInfo, vncPassword: 'pw' });
    expect(calls.map((c) => c.args[0])).toEqual(['rename']);
  });

  it('passes over a claim opened ahead whose exec ended (its console gone), and execs for a listed console', async () => {
    const { pool, opened, exec } = fakePool();
    await pool.openClaimsAhead();
    opened[0]!.end();
    expect(await pool.take(request(false), port)).toBeDefined();
    expect(opened[0]!.input).toBeUndefined();
    expect(JSON.parse(exec()!.input!)).toMatchObject({ vncPassword: 'pw' });
  });

  it('closes a claim opened ahead whose console another agent took (no longer listed as pooled)', async () => {
    const { pool, opened, setPooled } = fakePool();
    await pool.openClaimsAhead();
    setPooled(['bmc-console--pool-0b']); // another agent took (renamed) 0a; 0b is the pool's now
    await pool.openClaimsAhead();
    expect(opened[0]!.input).toBe('');
    expect(opened.map((o) => o.args[2])).toEqual(['bmc-console--pool-0a', 'bmc-console--pool-0b']);
  });

  it('dispose() ends the claims opened ahead with an empty stdin (the console stays unassigned)', async () => {
    const { pool, opened } = fakePool();
    await pool.openClaimsAhead();
    await pool.dispose();
    expect(opened[0]!.input).toBe('');
  });
});
