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
import { PodmanPool } from '../src/providers/podman-pool.js';
import type { CommandResult } from '../src/run-command.js';

const dir = mkdtempSync(join(tmpdir(), 'pool-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** A pool over a stand-in CLI: `ps` lists one pooled console, `exec` takes the assignment, `rename` succeeds. */
function fakePool() {
  const calls: { args: string[]; input?: string }[] = [];
  const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' }) as CommandResult;
  const pool = new PodmanPool({
    config: agentConfigSchema.parse({ container_pool_size: 1, agent_host: 'h', state_dir: dir }),
    log: createLogger('test', { level: 'silent' }),
    cli: async (args, _env, input) => {
      calls.push({ args, ...(input === undefined ? {} : { input }) });
      if (args[0] === 'ps') return ok(JSON.stringify([{ Names: ['bmc-console--pool-0a'], State: 'running', Created: 1, Labels: { 'io.bmc-console.pool': 'h', 'io.bmc-console.port': '41000' } }]));
      return ok();
    },
    baseRunArgs: () => [],
    poolEnvironment: () => ({}),
    remote: () => false,
    remove: async () => undefined,
  });
  const exec = () => calls.find((c) => c.args[0] === 'exec');
  return { pool, calls, exec };
}

const request = (verify_ca: boolean | string) => ({ node: 'n1', app: 'redfish-graphical' as const, appInfo: { address: 'https://192.0.2.1', username: 'root', password: 'calvin', verify_ca }, readOnly: false, vncPassword: 'pw' });
const port = async () => ({ host: '127.0.0.1', port: 1 });

describe('the pool hands a node to a pooled console (stand-in podman CLI)', () => {
  it('sends APP_INFO and the VNC password on stdin, never in argv', async () => {
    const { pool, exec } = fakePool();
    expect(await pool.take(request(false), port)).toEqual({ host: '127.0.0.1', port: 41000 });
    expect(exec()!.args).toEqual(['exec', '-i', 'bmc-console--pool-0a', 'bmc-console', 'assign']);
    expect(JSON.parse(exec()!.input!)).toEqual({ appInfo: request(false).appInfo, vncPassword: 'pw' });
  });

  it('serves a node whose verify_ca names a CA bundle: the bundle\'s text goes with the assignment', async () => {
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
});
