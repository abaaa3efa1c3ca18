/**
 * `bmc-console-proxy`: serves the viewer page and relays browser websockets to console RFB ports, one token one
 * console. Configuration: optional --config file (YAML/JSON, same keys as ProxyConfigSchema), then flags.
 */
import { Command, InvalidArgumentError } from 'commander';
import { pathToFileURL } from 'node:url';
import { readConfigFile, parseProxyConfig } from './config.js';
import { defaultDirectIo, directMain } from './direct/probe-cli.js';
import { recordingsMain } from './recording/recording-cli.js';
import { startProxy } from './server.js';
import proxyPackage from '../package.json' with { type: 'json' };

function int(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number, got "${v}"`);
    return Number(v);
  };
}

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface Flags {
  config?: string;
  host?: string;
  port?: number;
  agentUrl?: string;
  agentApiKeyFile?: string;
  agentTimeoutMs?: number;
  tokenSource?: string;
  ironicUrl?: string;
  ironicAuthStrategy?: string;
  ironicUsername?: string;
  ironicPasswordFile?: string;
  ironicCaFile?: string;
  ironicTimeoutMs?: number;
  ironicTokenTimeout?: number;
  cert?: string;
  key?: string;
  tlsMinVersion?: string;
  tlsCiphers?: string;
  requireTls?: boolean;
  allowedOrigin?: string[];
  allowMissingOrigin?: boolean;
  trustedProxy?: string[];
  maxSessions?: number;
  maxSessionsPerNode?: number;
  maxSessionsPerSource?: number;
  maxPayload?: number;
  idleTimeout?: number;
  maxSession?: number;
  pingInterval?: number;
  reverifyInterval?: number;
  metrics?: boolean;
  metricsHost?: string;
  metricsPort?: number;
  recordingsDir?: string;
  recordingsMaxBytes?: string;
  recordingsMaxAgeDays?: number;
  recordingsKeyFile?: string;
  recordingsAdminTokenFile?: string;
  directTimeoutMs?: number;
  directReleaseAfter?: number;
}

/** Where each flag lands in the config object (nested keys for tls.*, limits.*, metrics.*, direct.*). */
const FLAG_PATHS: ReadonlyArray<readonly [keyof Flags, string, string?]> = [
  ['host', 'host'],
  ['port', 'port'],
  ['agentUrl', 'agentUrl'],
  ['agentApiKeyFile', 'agentApiKeyFile'],
  ['agentTimeoutMs', 'agentTimeoutMs'],
  ['tokenSource', 'tokenSource'],
  ['ironicUrl', 'ironic', 'url'],
  ['ironicAuthStrategy', 'ironic', 'authStrategy'],
  ['ironicUsername', 'ironic', 'username'],
  ['ironicPasswordFile', 'ironic', 'passwordFile'],
  ['ironicCaFile', 'ironic', 'caFile'],
  ['ironicTimeoutMs', 'ironic', 'timeoutMs'],
  ['ironicTokenTimeout', 'ironic', 'tokenTimeoutSec'],
  ['requireTls', 'requireTls'],
  ['allowedOrigin', 'allowedOrigins'],
  ['allowMissingOrigin', 'allowMissingOrigin'],
  ['trustedProxy', 'trustedProxies'],
  ['cert', 'tls', 'certFile'],
  ['key', 'tls', 'keyFile'],
  ['tlsMinVersion', 'tls', 'minVersion'],
  ['tlsCiphers', 'tls', 'ciphers'],
  ['maxSessions', 'limits', 'maxSessionsTotal'],
  ['maxSessionsPerNode', 'limits', 'maxSessionsPerNode'],
  ['maxSessionsPerSource', 'limits', 'maxSessionsPerSource'],
  ['maxPayload', 'limits', 'maxPayloadBytes'],
  ['idleTimeout', 'limits', 'idleTimeoutSec'],
  ['maxSession', 'limits', 'maxSessionSec'],
  ['pingInterval', 'limits', 'pingIntervalSec'],
  ['reverifyInterval', 'limits', 'reverifyIntervalSec'],
  ['metricsHost', 'metrics', 'host'],
  ['metricsPort', 'metrics', 'port'],
  ['recordingsDir', 'recordings', 'dir'],
  ['recordingsMaxBytes', 'recordings', 'maxBytes'],
  ['recordingsMaxAgeDays', 'recordings', 'maxAgeDays'],
  ['recordingsKeyFile', 'recordings', 'keyFile'],
  ['recordingsAdminTokenFile', 'recordings', 'adminTokenFile'],
  ['directTimeoutMs', 'direct', 'timeoutMs'],
  ['directReleaseAfter', 'direct', 'releaseAfterSec'],
];

/** Merges file and flags (flags win) into the raw object the zod schema validates. */
export function configFromFlags(flags: Flags): unknown {
  const out: Record<string, unknown> = flags.config ? { ...readConfigFile(flags.config) } : {};
  const set = (key: string, sub: string | undefined, v: unknown) => {
    if (v === undefined) return;
    if (sub === undefined) return void (out[key] = v);
    // A nested flag overrides one key of the file's section and keeps the others.
    out[key] = { ...((out[key] as Record<string, unknown> | undefined) ?? {}), [sub]: v };
  };
  for (const [flag, key, sub] of FLAG_PATHS) set(key, sub, flags[flag]);
  // --no-metrics: commander's default for the negated flag is true, which must not override the file.
  if (flags.metrics === false) set('metrics', 'enabled', false);
  return out;
}

export async function main(argv: string[]): Promise<number> {
  // The operator's subcommand; anything else is the proxy itself, exactly as before.
  if (argv[0] === 'recordings')
    return recordingsMain(argv.slice(1), (flags) => parseProxyConfig(configFromFlags(flags)));
  if (argv[0] === 'direct') return directMain(argv.slice(1), defaultDirectIo);
  const program = new Command('bmc-console-proxy')
    .description('Token-checked websocket proxy and viewer for bmc-console consoles')
    .version(proxyPackage.version, '-V, --version', 'print the version and exit')
    .option('--config <file>', 'YAML or JSON config file (keys as in docs/proxy.md); flags override it')
    .option('--host <addr>', 'listen address (default 127.0.0.1)')
    .option('--port <n>', 'listen port, 0 = any free port (default 6090)', int('--port'))
    .option(
      '--agent-url <url>',
      "host agent for token checks: unix:/path.sock (default: the agent's default socket) or http(s)://host:port",
    )
    .option(
      '--agent-api-key-file <file>',
      "the agent's API key file, for an http(s) agent URL (default: the agent's default api_key_file)",
    )
    .option('--agent-timeout-ms <n>', 'timeout for one token check', int('--agent-timeout-ms'))
    .option(
      '--token-source <source>',
      "who checks viewers' tokens: agent (default) or ironic (Ironic's console tokens, via its API)",
    )
    .option('--ironic-url <url>', 'Ironic API for --token-source ironic, e.g. http://ironic:6385')
    .option('--ironic-auth-strategy <s>', 'noauth (default) or http_basic (keystone is not supported)')
    .option('--ironic-username <name>', "http_basic: the proxy's service account")
    .option('--ironic-password-file <file>', "http_basic: file holding the service account's password")
    .option('--ironic-ca-file <file>', 'PEM CA bundle for an https Ironic URL')
    .option('--ironic-timeout-ms <n>', 'timeout for one request to Ironic (default 5000)', int('--ironic-timeout-ms'))
    .option('--ironic-token-timeout <sec>', "Ironic's [vnc]token_timeout (default 600)", int('--ironic-token-timeout'))
    .option('--cert <file>', 'TLS certificate (PEM); with --key the proxy speaks only HTTPS/WSS')
    .option('--key <file>', 'TLS private key (PEM)')
    .option('--tls-min-version <v>', 'minimum TLS version: 1.2 or 1.3 (default 1.2)')
    .option('--tls-ciphers <list>', 'OpenSSL cipher list for TLS 1.2')
    .option(
      '--require-tls',
      'refuse plain HTTP (default when --cert is given); behind a TLS reverse proxy, needs X-Forwarded-Proto from --trusted-proxy',
    )
    .option('--no-require-tls', 'allow plain HTTP even without TLS (development only)')
    .option('--allowed-origin <origin>', 'extra allowed Origin, full scheme://host[:port] (repeatable)', collect)
    .option('--no-allow-missing-origin', 'refuse websocket upgrades that carry no Origin header')
    .option(
      '--trusted-proxy <addr>',
      'reverse proxy address whose X-Forwarded-Proto/-For are believed (repeatable)',
      collect,
    )
    .option('--max-sessions <n>', 'sessions in total (default 200)', int('--max-sessions'))
    .option('--max-sessions-per-node <n>', 'sessions per node (default 4)', int('--max-sessions-per-node'))
    .option(
      '--max-sessions-per-source <n>',
      'sessions per source address (default 8)',
      int('--max-sessions-per-source'),
    )
    .option('--max-payload <bytes>', 'largest websocket message from a viewer (default 1048576)', int('--max-payload'))
    .option('--idle-timeout <sec>', 'close sessions idle this long (default 900)', num('--idle-timeout'))
    .option('--max-session <sec>', 'maximum session length (default 14400)', num('--max-session'))
    .option('--ping-interval <sec>', 'websocket ping interval (default 25)', num('--ping-interval'))
    .option(
      '--reverify-interval <sec>',
      "re-check live sessions' tokens this often (default 5)",
      num('--reverify-interval'),
    )
    .option('--no-metrics', 'do not serve Prometheus /metrics')
    .option('--metrics-host <addr>', 'address of the separate metrics listener (with --metrics-port)')
    .option('--metrics-port <n>', 'serve /metrics on its own listener instead of the main one', int('--metrics-port'))
    .option('--recordings-dir <dir>', 'session recordings directory (default /var/lib/bmc-console-proxy/recordings)')
    .option('--recordings-max-bytes <size>', 'remove the oldest recordings beyond this size, e.g. 20g (default 20g)')
    .option(
      '--recordings-max-age-days <days>',
      'remove recordings older than this (default 90)',
      num('--recordings-max-age-days'),
    )
    .option(
      '--recordings-key-file <file>',
      "recordings' HMAC key, created on first use (default <dir>/../recording.key)",
    )
    .option('--recordings-admin-token-file <file>', 'file holding an admin token for GET /api/recordings (all nodes)')
    .option(
      '--direct-timeout-ms <n>',
      'direct consoles: timeout for each step with the BMC (default 15000)',
      int('--direct-timeout-ms'),
    )
    .option(
      '--direct-release-after <sec>',
      "direct consoles: log out of the BMC this long after a node's last viewer left, 0 = at once (default 60)",
      int('--direct-release-after'),
    )
    .addHelpText(
      'after',
      '\nSession recordings: bmc-console-proxy recordings list|show|prune (--help for each)' +
        '\nCheck a BMC for direct consoles: bmc-console-proxy direct probe --help',
    )
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    // --help and --version exit 0; every usage error (commander printed it) exits 2.
    return (err as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  let config;
  try {
    config = parseProxyConfig(configFromFlags(program.opts<Flags>()));
  } catch (err) {
    process.stderr.write(`bmc-console-proxy: ${(err as Error).message}\n`);
    return 2;
  }
  let proxy;
  try {
    proxy = await startProxy(config);
  } catch (err) {
    // A missing or bad API key, password or CA file is a configuration error like a bad flag; the message names the option.
    if (!/^(agentApiKeyFile|ironic\.passwordFile|ironic\.caFile|recordings\.\w+): /.test((err as Error).message))
      throw err;
    process.stderr.write(`bmc-console-proxy: ${(err as Error).message}\n`);
    return 2;
  }
  // The signal handlers come before the ready line: a supervisor that stops the proxy as soon as it reads the line
  // must get a clean exit, not the default SIGTERM death.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: proxy.url, metricsUrl: proxy.metricsUrl })}\n`);
  await stopped;
  await proxy.close();
  return 0;
}

// Run when executed as a program (tsx, or the esbuild bundle), not when imported by tests.
const invoked = process.argv[1] ? pathToFileURL(process.argv[1]).href : '';
if (invoked === import.meta.url || /bmc-console-proxy(\.mjs)?$/.test(process.argv[1] ?? '')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bmc-console-proxy: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
