import { execFile, spawn } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { appInfo } from './support/agent-fixture.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const root = join(import.meta.dirname, '..', '..');
/** Starting a tsx process takes seconds on a busy 2-core machine (a bound, not a timed assertion). */
const SPAWN = 180_000;

/** Runs the CLI in-process, capturing stdout/stderr (fast); one test below runs the real process. */
async function cli(...args: string[]): Promise<{ code: number; out: unknown; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(args);
    return { code, out: out ? (JSON.parse(out) as unknown) : undefined, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('bmc-console-agent CLI (fake provider)', () => {
  let dir: string;
  let g: string[];
  beforeEach(() => {
    dir = tempDir('agent-cli-');
    writeFileSync(
      join(dir, 'agent.yaml'),
      `container_provider: fake\nstate_dir: ${dir}/state\npublic_url: https://proxy.example/view\n`,
    );
    writeFileSync(join(dir, 'app-info.json'), JSON.stringify(appInfo()));
    g = ['--config', join(dir, 'agent.yaml')];
  });
  afterEach(() => vi.restoreAllMocks());

  it('start, status, url, stop, stop-all print JSON', async () => {
    const s = await cli(...g, 'start', '--node', 'c1', '--app-info-file', join(dir, 'app-info.json'));
    expect(s.code).toBe(0);
    expect(Object.keys(s.out as object).sort()).toEqual(['expiresAt', 'host', 'mode', 'node', 'port', 'url']);
    expect(s.out).toMatchObject({
      node: 'c1',
      host: '192.0.2.1',
      port: 5900,
      url: expect.stringMatching(/^https:\/\/proxy\.example\/view\?path=websockify%3Fnode%3Dc1%26token%3D/),
    });
    expect(
      (await cli(...g, 'start', '--node', 'ro', '--read-only', '--app-info-file', join(dir, 'app-info.json'))).code,
    ).toBe(0);
    expect((await cli(...g, 'status', '--node', 'ro')).out).toMatchObject({ readOnly: true });
    await cli(...g, 'stop', '--node', 'ro');
    expect((await cli(...g, 'status')).out).toEqual({
      consoles: [expect.objectContaining({ node: 'c1', status: 'running' })],
    });
    expect((await cli(...g, 'status', '--node', 'c1')).out).toMatchObject({ node: 'c1', validTokens: 1 });
    expect((await cli(...g, 'url', '--node', 'c1')).out).toMatchObject({
      node: 'c1',
      url: expect.stringContaining('token%3D'),
    });
    expect(await cli(...g, 'stop', '--node', 'c1')).toMatchObject({ code: 0, out: { node: 'c1', wasRunning: true } });
    await cli(...g, 'start', '--node', 'c2', '--app-info-file', join(dir, 'app-info.json'));
    expect(await cli(...g, 'stop-all')).toMatchObject({ code: 0, out: { stopped: ['c2'] } });
    const badMode = await cli(
      ...g,
      'start',
      '--node',
      'c3',
      '--mode',
      'bogus',
      '--app-info-file',
      join(dir, 'app-info.json'),
    );
    expect(badMode.code).toBe(2);
    expect(JSON.stringify(badMode)).toMatch(/consoleMode: expected one of auto, container, direct/);
    const container = await cli(
      ...g,
      'start',
      '--node',
      'c3',
      '--mode',
      'container',
      '--app-info-file',
      join(dir, 'app-info.json'),
    );
    expect(container.out).toMatchObject({ node: 'c3', mode: 'container' });
    expect((await cli(...g, 'status', '--node', 'c3')).out).toMatchObject({ mode: 'container' });
  });

  it('url --view-only --user alice prints a named view link; bad claims exit 2 naming the field', async () => {
    await cli(...g, 'start', '--node', 'v1', '--app-info-file', join(dir, 'app-info.json'));
    const view = await cli(...g, 'url', '--node', 'v1', '--view-only', '--user', 'alice');
    expect(view.code).toBe(0);
    expect(Object.keys(view.out as object).sort()).toEqual(['exclusive', 'expiresAt', 'node', 'role', 'url', 'user']);
    expect(view.out).toMatchObject({
      node: 'v1',
      role: 'view',
      user: 'alice',
      exclusive: false,
      url: expect.stringContaining('token%3D'),
    });
    expect((await cli(...g, 'url', '--node', 'v1', '--exclusive')).out).toMatchObject({
      role: 'control',
      exclusive: true,
    });
    expect((await cli(...g, 'url', '--node', 'v1')).out).toMatchObject({ role: 'control', exclusive: false });
    const both = await cli(...g, 'url', '--node', 'v1', '--view-only', '--exclusive');
    expect(both.code).toBe(2);
    expect(JSON.parse(both.err)).toEqual({
      error: {
        kind: 'invalid',
        node: 'v1',
        message: 'node v1: exclusive: a view-only link cannot ask for exclusive control',
      },
    });
    const badUser = await cli(...g, 'url', '--node', 'v1', '--user', 'al/ice');
    expect(badUser.code).toBe(2);
    expect(JSON.parse(badUser.err).error.message).toMatch(/^node v1: user: expected a user name/);
    expect((await cli(...g, 'status', '--node', 'v1')).out).toMatchObject({ validTokens: 4, record: false });
  });

  it('start --record / --no-record override record_sessions; status says record', async () => {
    writeFileSync(join(dir, 'rec.yaml'), `container_provider: fake\nstate_dir: ${dir}/state\nrecord_sessions: true\n`);
    const r = ['--config', join(dir, 'rec.yaml')];
    const info = ['--app-info-file', join(dir, 'app-info.json')];
    await cli(...r, 'start', '--node', 'r1', ...info);
    await cli(...r, 'start', '--node', 'r2', '--no-record', ...info);
    await cli(...g, 'start', '--node', 'r3', '--record', ...info);
    expect((await cli(...r, 'status', '--node', 'r1')).out).toMatchObject({ record: true });
    expect((await cli(...r, 'status', '--node', 'r2')).out).toMatchObject({ record: false });
    expect((await cli(...g, 'status', '--node', 'r3')).out).toMatchObject({ record: true });
  });

  it('needs no API key with the API on TCP (commands work on the state dir); --no-vnc-password starts without one', async () => {
    writeFileSync(
      join(dir, 'tcp.yaml'),
      `container_provider: fake\nstate_dir: ${dir}/state\napi_listen: tcp://127.0.0.1:6091\n`,
    );
    const t = ['--config', join(dir, 'tcp.yaml')];
    expect(
      (await cli(...t, 'start', '--node', 'k1', '--no-vnc-password', '--app-info-file', join(dir, 'app-info.json')))
        .code,
    ).toBe(0);
    expect((await cli(...t, 'url', '--node', 'k1')).code).toBe(0);
    expect((await cli(...t, 'status', '--node', 'k1')).out).toMatchObject({ node: 'k1', validTokens: 2 });
    expect(existsSync(join(dir, 'state', 'api.key'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'state', 'state.json'), 'utf8')).consoles.k1.vncPassword).toBeUndefined();
    expect((await cli(...t, 'stop', '--node', 'k1')).code).toBe(0);
  });

  it('exit codes: 2 usage/input, 3 config, 4 no console; errors name node and cause', async () => {
    const nf = await cli(...g, 'url', '--node', 'ghost');
    expect(nf.code).toBe(4);
    expect(JSON.parse(nf.err)).toEqual({
      error: { kind: 'not-found', node: 'ghost', message: 'node ghost: no console is running for this node' },
    });
    const noInfo = await cli(...g, 'start', '--node', 'c3');
    expect(noInfo.code).toBe(2);
    expect(noInfo.err).toContain('--app-info-file <file> or --app-info-stdin');
    writeFileSync(join(dir, 'bad.json'), '{"password": "s3cr3t!!" oops');
    const badJson = await cli(...g, 'start', '--node', 'c3', '--app-info-file', join(dir, 'bad.json'));
    expect(badJson.code).toBe(2);
    expect(badJson.err).toContain('is not valid JSON');
    expect(badJson.err).not.toContain('s3cr3t');
    writeFileSync(join(dir, 'partial.json'), JSON.stringify({ address: 'https://bmc', password: 's3cr3t!!' }));
    const partial = await cli(...g, 'start', '--node', 'c3', '--app-info-file', join(dir, 'partial.json'));
    expect(partial.code).toBe(2);
    expect(JSON.parse(partial.err).error.message).toMatch(/^node c3: appInfo\.username/);
    expect(partial.err).not.toContain('s3cr3t');
    writeFileSync(join(dir, 'bad.yaml'), 'token_timeout: -1\n');
    const cfg = await cli('--config', join(dir, 'bad.yaml'), 'status');
    expect(cfg.code).toBe(3);
    expect(cfg.err).toContain('token_timeout: expected a whole number of seconds >= 10');
    expect((await cli(...g, 'frobnicate')).code).toBe(2);
    const badNode = await cli(...g, 'stop', '--node', 'bad/name');
    expect(badNode.code).toBe(2);
    expect(badNode.err).toContain('expected a node UUID or name');
    const ext = await cli(...g, '--provider', 'no-such-provider-package', 'status');
    expect(ext.code).toBe(3);
    expect(ext.err).toContain('container_provider: not a built-in provider');
  });

  it(
    'runs as a real process: start with APP_INFO on stdin, exit code and JSON',
    async () => {
      const run = (args: string[], input?: string) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          const child = execFile(
            process.execPath,
            ['--conditions=source', '--import', 'tsx', join(root, 'host-agent/src/cli.ts'), ...g, ...args],
            { cwd: root },
            (err, stdout, stderr) =>
              resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          );
          child.stdin?.end(input ?? '');
        });
      const s = await run(['start', '--node', 'p1', '--app-info-stdin'], JSON.stringify(appInfo()));
      expect(s.code).toBe(0);
      expect(JSON.parse(s.stdout)).toMatchObject({ node: 'p1', port: 5900 });
      expect(s.stderr).toBe('');
    },
    SPAWN,
  );

  it(
    'serve: reconciles, listens on a unix socket, answers the proxy, stops on SIGTERM',
    async () => {
      const socket = join(dir, 'agent.sock');
      writeFileSync(
        join(dir, 'serve.yaml'),
        `container_provider: fake\nstate_dir: ${dir}/state\napi_listen: unix:${socket}\nreconcile_interval: 0\n`,
      );
      const child = spawn(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          'tsx',
          join(root, 'host-agent/src/cli.ts'),
          '--config',
          join(dir, 'serve.yaml'),
          'serve',
        ],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      const listening = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const line = out.split('\n').find((l) => l.includes('"listening"'));
          if (line) resolve((JSON.parse(line) as { listening: string }).listening);
        });
        child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${out}`)));
      });
      expect(listening).toBe(`unix:${socket}`);
      const post = (path: string, body: unknown) =>
        new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
          const req = request(
            { socketPath: socket, path, method: 'POST', headers: { 'content-type': 'application/json' } },
            (res) => {
              let text = '';
              res
                .setEncoding('utf8')
                .on('data', (d: string) => (text += d))
                .on('end', () =>
                  resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
                );
            },
          );
          req.on('error', reject);
          req.end(JSON.stringify(body));
        });
      const started = await post('/v1/consoles', { node: 's1', appInfo: appInfo() });
      expect(started.status).toBe(201);
      const token = new URLSearchParams(
        decodeURIComponent(new URL(String(started.body.url)).searchParams.get('path') ?? '').split('?')[1],
      ).get('token');
      expect((await post('/v1/tokens/verify', { node: 's1', token })).status).toBe(200);
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).not.toContain(token!);
      expect(out).not.toContain('Ä€');
    },
    SPAWN,
  );
});
