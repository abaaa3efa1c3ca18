/**
 * The podman provider driving a FAKE `docker` CLI (a script that records argv and the APP_INFO/VNC_PASSWORD it
 * received through its environment): docker's dialect (no `rm --time`, ps JSON lines) and env passthrough.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleAgent } from '../src/console-agent.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';

describe('podman provider with a fake docker CLI', () => {
  let dir: string;
  let server: Server;
  let agent: ConsoleAgent;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-docker-'));
    server = createServer((s) => s.end('RFB 003.008\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const bin = join(dir, 'docker');
    writeFileSync(
      bin,
      `#!/bin/bash
printf '%s\\0' "$@" >> ${dir}/argv; printf '\\n' >> ${dir}/argv
case "$1" in
  run) printf '%s' "$APP_INFO" > ${dir}/app-info; printf '%s' "$VNC_PASSWORD" > ${dir}/vnc; echo 0123abcd ;;
  port) echo "0.0.0.0:${port}"; echo "[::]:${port}" ;;
  ps) echo '{"Names":"bmc-console-d1","State":"running","Labels":"io.bmc-console.console=true,io.bmc-console.node=d1"}' ;;
  rm|logs) exit 0 ;;
  *) exit 1 ;;
esac
`,
    );
    chmodSync(bin, 0o755);
    ({ agent } = await makeAgent({ container_provider: 'podman', container_executable: bin }));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('passes secrets through the environment only and speaks docker', async () => {
    const info = appInfo();
    const s = await agent.start({ node: 'd1', appInfo: info });
    expect(s).toMatchObject({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    expect(JSON.parse(readFileSync(join(dir, 'app-info'), 'utf8'))).toEqual(info);
    const v = await agent.verify('d1', tokenOf(s.url));
    expect(v.ok && readFileSync(join(dir, 'vnc'), 'utf8') === v.target.vncPassword).toBe(true);
    const calls = readFileSync(join(dir, 'argv'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('\0').filter(Boolean));
    const run = calls.find((c) => c[0] === 'run')!;
    expect(run.join(' ')).not.toContain('Ä€');
    expect(run).toEqual(expect.arrayContaining(['--env', 'APP_INFO', '--env', 'VNC_PASSWORD', '--init', '--rm']));
    expect((await agent.provider.list()).map((r) => r.node)).toEqual(['d1']);
    await agent.stop('d1');
    const rm = readFileSync(join(dir, 'argv'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('\0').filter(Boolean)).filter((c) => c[0] === 'rm');
    expect(rm.at(-1)).toEqual(['rm', '--force', 'bmc-console-d1']);
  });
});
