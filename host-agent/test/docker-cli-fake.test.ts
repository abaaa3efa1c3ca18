/**
 * The podman provider driving a FAKE `docker` CLI (a script that records argv and the APP_INFO/VNC_PASSWORD it
 * received through its environment): docker's dialect (no `rm --time`, ps JSON lines), env passthrough, and the
 * published port: picked by the agent for a local engine (the fake serves an RFB greeting on it), asked with
 * `docker port` for a remote one (container_host).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleAgent } from '../src/console-agent.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

describe('podman provider with a fake docker CLI', () => {
  let dir: string;
  let server: Server;
  let bin: string;
  let agent: ConsoleAgent;
  const calls = (): string[][] =>
    readFileSync(join(dir, 'argv'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\0').filter(Boolean));
  beforeAll(async () => {
    dir = tempDir('agent-docker-');
    server = createServer((s) => s.end('RFB 003.008\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    bin = join(dir, 'docker');
    // `run` with a host port in --publish (127.0.0.1:PORT:5900) serves a greeting there, as the console would.
    writeFileSync(
      bin,
      `#!/bin/bash
printf '%s\\0' "$@" >> ${dir}/argv; printf '\\n' >> ${dir}/argv
case "$1" in
  run)
    if [ -e ${dir}/port-taken-once ]; then rm ${dir}/port-taken-once; echo 'Error: rootlessport listen tcp 127.0.0.1:1: bind: address already in use' >&2; exit 126; fi
    printf '%s' "$APP_INFO" > ${dir}/app-info; printf '%s' "$VNC_PASSWORD" > ${dir}/vnc
    prev=; for a in "$@"; do [ "$prev" = --publish ] && publish=$a; prev=$a; done
    hostport=\${publish#*:}; hostport=\${hostport%%:*}
    if [ -n "$hostport" ]; then
      "${process.execPath}" -e "require('net').createServer((s) => s.end('RFB 003.008\\\\n')).listen(+process.argv[1], '127.0.0.1')" "$hostport" >/dev/null 2>&1 &
      echo $! >> ${dir}/listeners
    fi
    echo 0123abcd ;;
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
  afterAll(async () => {
    const listeners = join(dir, 'listeners');
    if (existsSync(listeners))
      for (const pid of readFileSync(listeners, 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid));
        } catch {
          // already gone
        }
      }
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('passes secrets through the environment only, speaks docker, and publishes on a port it picked', async () => {
    const info = appInfo();
    const s = await agent.start({ node: 'd1', appInfo: info });
    const run = calls().find((c) => c[0] === 'run')!;
    const publish = run[run.indexOf('--publish') + 1]!;
    expect(publish).toMatch(/^127\.0\.0\.1:\d+:5900$/);
    expect(s).toMatchObject({ host: '127.0.0.1', port: Number(publish.split(':')[1]) });
    expect(calls().some((c) => c[0] === 'port')).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'app-info'), 'utf8'))).toEqual(info);
    const v = await agent.verify('d1', tokenOf(s.url));
    expect(v.ok && readFileSync(join(dir, 'vnc'), 'utf8') === v.target.vncPassword).toBe(true);
    expect(run.join(' ')).not.toContain('Ä€');
    expect(run).toEqual(expect.arrayContaining(['--env', 'APP_INFO', '--env', 'VNC_PASSWORD', '--init', '--rm']));
    expect((await agent.provider.list()).map((r) => r.node)).toEqual(['d1']);
    await agent.stop('d1');
    expect(
      calls()
        .filter((c) => c[0] === 'rm')
        .at(-1),
    ).toEqual(['rm', '--force', 'bmc-console-d1']);
  });

  it('a host port taken between the pick and the run: the agent picks another and runs again', async () => {
    writeFileSync(join(dir, 'port-taken-once'), '');
    const before = calls().length;
    const s = await agent.start({ node: 'd3', appInfo: appInfo() });
    const runs = calls()
      .slice(before)
      .filter((c) => c[0] === 'run');
    expect(runs).toHaveLength(2);
    expect(s.port).toBe(Number(runs[1]![runs[1]!.indexOf('--publish') + 1]!.split(':')[1]));
    await agent.stop('d3');
  });

  it('a remote engine (container_host) picks the port itself: the agent asks it with `docker port`', async () => {
    const { agent: remote } = await makeAgent({
      container_provider: 'podman',
      container_executable: bin,
      container_host: 'tcp://192.0.2.1:2375',
    });
    const s = await remote.start({ node: 'd2', appInfo: appInfo() });
    const run = calls()
      .filter((c) => c[0] === 'run')
      .at(-1)!;
    expect(run[run.indexOf('--publish') + 1]).toBe('127.0.0.1::5900');
    expect(calls().at(-1)).toEqual(['port', 'bmc-console-d2', '5900/tcp']);
    expect(s).toMatchObject({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    await remote.stop('d2');
  });
});
