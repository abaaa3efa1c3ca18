/**
 * bmc-console-agent: starts and stops one console container per node and issues console tokens.
 * Every command prints JSON on stdout; errors print {"error": {kind, node?, message}} on stderr.
 * Exit codes: 0 ok, 1 internal error, 2 bad usage or input, 3 bad configuration, 4 no such console,
 * 5 the provider failed (container did not start, VNC never answered, ...).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { createLogger, type Logger } from '@bmc-console/common/log';
import { startApi } from './api.js';
import { ConfigError, loadConfig, type AgentConfig } from './config.js';
import { AgentError, ConsoleAgent } from './console-agent.js';
import { openApiDocument } from './openapi.js';
import { ProviderError } from './providers/provider.js';
import agentPackage from '../package.json' with { type: 'json' };

export const EXIT = { ok: 0, internal: 1, usage: 2, config: 3, notFound: 4, provider: 5 } as const;

interface GlobalOptions {
  config?: string;
  provider?: string;
  stateDir?: string;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

class UsageError extends Error {}

function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConfigError) return EXIT.config;
  if (err instanceof AgentError)
    return { invalid: EXIT.usage, 'not-found': EXIT.notFound, provider: EXIT.provider, internal: EXIT.internal }[
      err.kind
    ];
  if (err instanceof ProviderError) return err.node ? EXIT.provider : EXIT.config;
  return EXIT.internal;
}

function errorJson(err: unknown): { error: { kind: string; node?: string; message: string } } {
  if (err instanceof AgentError)
    return { error: { kind: err.kind, ...(err.node ? { node: err.node } : {}), message: err.message } };
  const kind =
    err instanceof UsageError
      ? 'invalid'
      : err instanceof ConfigError
        ? 'config'
        : err instanceof ProviderError
          ? 'provider'
          : 'internal';
  const node = err instanceof ProviderError ? err.node : undefined;
  return { error: { kind, ...(node ? { node } : {}), message: (err as Error).message ?? String(err) } };
}

function config(opts: GlobalOptions): AgentConfig {
  return loadConfig({
    ...(opts.config ? { file: opts.config } : {}),
    overrides: {
      ...(opts.provider ? { container_provider: opts.provider } : {}),
      ...(opts.stateDir ? { state_dir: opts.stateDir } : {}),
    },
  });
}

/**
 * `serve` logs to stdout like every service. Short commands keep stdout pure JSON: they report errors as JSON on
 * stderr and log only when asked (LOG_LEVEL or DEBUG), then to stderr; a pino transport costs a worker thread.
 */
function cliLogger(toStderr: boolean): Logger {
  if (!toStderr) return createLogger('bmc-console-agent');
  const verbose = process.env.LOG_LEVEL !== undefined || /^(1|true|yes)$/i.test(process.env.DEBUG ?? '');
  return verbose
    ? createLogger('bmc-console-agent', { transport: { target: 'pino/file', options: { destination: 2 } } })
    : createLogger('bmc-console-agent', { level: 'silent' });
}

async function agentFor(opts: GlobalOptions, toStderr = true): Promise<ConsoleAgent> {
  const cfg = config(opts);
  return ConsoleAgent.create(cfg, cliLogger(toStderr));
}

function readAppInfo(file: string | undefined, stdin: boolean): unknown {
  if (!file && !stdin) throw new UsageError('start: give APP_INFO with --app-info-file <file> or --app-info-stdin');
  if (file && stdin) throw new UsageError('start: give either --app-info-file or --app-info-stdin, not both');
  let text: string;
  try {
    text = file ? readFileSync(file, 'utf8') : readFileSync(0, 'utf8');
  } catch (err) {
    throw new UsageError(
      `start: cannot read APP_INFO from ${file ?? 'stdin'}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // JSON.parse quotes the text near the error, which may be the password: keep only the position.
    const where = /position \d+/.exec((err as Error).message)?.[0];
    throw new UsageError(`start: APP_INFO from ${file ?? 'stdin'} is not valid JSON${where ? ` (at ${where})` : ''}`);
  }
}

export function buildCli(): Command {
  const program = new Command('bmc-console-agent')
    .description('Starts and stops graphical BMC console containers and issues console tokens.')
    .option('--config <file>', 'config file (YAML or JSON); default $BMC_CONSOLE_AGENT_CONFIG')
    .option('--provider <name>', 'container_provider override: podman, systemd, kubernetes, fake or an npm package')
    .option('--state-dir <dir>', 'state_dir override')
    .version(agentPackage.version, '-V, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const g = (): GlobalOptions => program.opts<GlobalOptions>();

  program
    .command('start')
    .description('start (or restart) the console of a node; prints {node, mode, host, port, url, expiresAt}')
    .requiredOption('--node <uuid>', 'node UUID')
    .addOption(
      new Option('--app <name>', 'console app').choices(['redfish-graphical', 'fake']).default('redfish-graphical'),
    )
    .option('--app-info-file <file>', 'APP_INFO JSON file (holds the BMC credentials)')
    .option('--app-info-stdin', 'read APP_INFO JSON from stdin')
    .option('--read-only', 'view-only console (default: the read_only option)')
    .option('--no-read-only', 'interactive console even when read_only is set')
    .option('--vnc-password', 'protect the console with a VNC password (default: the vnc_password option)')
    .option('--no-vnc-password', 'no VNC password, for a viewer that speaks only security type None')
    .option('--record', 'the proxy records every session on this console (default: the record_sessions option)')
    .option('--no-record', 'no recording even when record_sessions is set')
    .option(
      '--mode <mode>',
      'auto, container or direct (default: the console_mode option); a direct console started here has no RFB relay (host/port) until `serve` runs',
    )
    .action(
      async (o: {
        node: string;
        app: string;
        appInfoFile?: string;
        appInfoStdin?: boolean;
        readOnly?: boolean;
        vncPassword?: boolean;
        record?: boolean;
        mode?: string;
      }) => {
        const appInfo = readAppInfo(o.appInfoFile, !!o.appInfoStdin);
        const agent = await agentFor(g());
        const r = await agent.start({
          node: o.node,
          app: o.app,
          appInfo,
          ...(o.readOnly !== undefined ? { readOnly: o.readOnly } : {}),
          ...(o.vncPassword !== undefined ? { vncPassword: o.vncPassword } : {}),
          ...(o.record !== undefined ? { record: o.record } : {}),
          ...(o.mode !== undefined ? { consoleMode: o.mode } : {}),
        });
        print(r);
        // No process stays to refill the pool later: do it now, after answering (a direct console took none).
        if (agent.needsPrepare) await agent.prepare();
      },
    );

  program
    .command('stop')
    .description('stop the console of a node and revoke its tokens')
    .requiredOption('--node <uuid>', 'node UUID')
    .action(async (o: { node: string }) => print(await (await agentFor(g())).stop(o.node)));

  program
    .command('stop-all')
    .description('stop every console of this agent (by label), known or not')
    .action(async () => print(await (await agentFor(g())).stopAll()));

  program
    .command('status')
    .description('status of all consoles, or of one (with its mode: container or direct)')
    .option('--node <uuid>', 'node UUID')
    .action(async (o: { node?: string }) => {
      const list = await (await agentFor(g())).status(o.node);
      print(o.node ? list[0] : { consoles: list });
    });

  program
    .command('url')
    .description('issue a fresh token and print the console URL for the proxy, with its role, user and exclusive')
    .requiredOption('--node <uuid>', 'node UUID')
    .option('--view-only', 'a link that only watches (the proxy drops its keys, pointer, clipboard, power requests)')
    .option('--user <name>', 'who the link is for; shown to the other viewers and in audit lines and recordings')
    .option('--exclusive', 'ask for sole control while this viewer is connected (not with --view-only)')
    .action(async (o: { node: string; viewOnly?: boolean; user?: string; exclusive?: boolean }) => {
      const agent = await agentFor(g());
      print(
        await agent.url(o.node, {
          ...(o.viewOnly ? { viewOnly: true } : {}),
          ...(o.user !== undefined ? { user: o.user } : {}),
          ...(o.exclusive ? { exclusive: true } : {}),
        }),
      );
    });

  program
    .command('reconcile')
    .description('clean up consoles whose container died and stop containers this agent does not know')
    .action(async () => print(await (await agentFor(g())).reconcile()));

  program
    .command('openapi')
    .description('print the HTTP API description (OpenAPI 3.1)')
    .action(() => print(openApiDocument));

  program
    .command('serve')
    .description('run the HTTP API (api_listen: a unix socket by default, or tcp://host:port with an API key)')
    .action(async () => {
      const cfg = config(g());
      const log = cliLogger(false);
      const agent = await ConsoleAgent.create(cfg, log, { serving: true });
      if (cfg.stop_all_on_start) await agent.stopAll();
      else
        await agent
          .reconcile()
          .catch((err: Error) => agent.log.error({ err: err.message }, 'reconcile at start failed'));
      const { app, address } = await startApi(agent);
      agent.log.info({ address, provider: agent.provider.name }, 'agent API listening');
      // Handlers before the ready line: a stop sent as soon as the line is read still shuts down cleanly.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      // Machine-readable line for scripts and tests that start the agent on port 0.
      process.stdout.write(`${JSON.stringify({ listening: address })}\n`);
      agent.startPoolRefill();
      const timer =
        cfg.reconcile_interval > 0
          ? setInterval(
              () =>
                void agent.reconcile().catch((err: Error) => agent.log.error({ err: err.message }, 'reconcile failed')),
              cfg.reconcile_interval * 1000,
            )
          : undefined;
      await stopped;
      if (timer) clearInterval(timer);
      agent.stopPoolRefill();
      await app.close();
      await agent.dispose();
      if (cfg.stop_all_on_shutdown)
        await agent
          .stopAll()
          .catch((err: Error) => agent.log.error({ err: err.message }, 'stop-all at shutdown failed'));
      agent.log.info('agent stopped');
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(`${JSON.stringify(errorJson(err))}\n`);
    return exitCodeOf(err);
  }
}

const invokedDirectly = process.argv[1] && /(cli\.ts|bmc-console-agent(\.mjs)?)$/.test(process.argv[1]);
if (invokedDirectly) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
