/**
 * `bmc-console-proxy direct probe`: an operator's check that the proxy can open a BMC's KVM by itself (issue #28):
 * logs in, opens the console, reads one full frame through common's RfbClient, prints sizes and step timings,
 * optionally writes the frame as PNG, logs out. The password comes from stdin only. Exit 0 ok, 1 usage, 3 failed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, type Logger } from '@bmc-console/common/log';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { encodePng } from '@bmc-console/common/rfb/png';
import { inStep } from '@bmc-console/common/direct/errors';
import { loopbackBridge } from '@bmc-console/common/direct/loopback-bridge';
import { openDirectKvm } from '@bmc-console/common/direct/open-direct-kvm';
import { DirectTargetSchema, type DirectTarget } from '@bmc-console/common/contracts/direct-target';

export interface DirectIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** All of stdin (the password). */
  readStdin: () => Promise<string>;
  log?: Logger;
}

const EXIT = { ok: 0, usage: 1, failed: 3 } as const;

class UsageError extends Error {}

interface ProbeFlags {
  vendor: string;
  address: string;
  username: string;
  verifyCa: boolean | string;
  passwordStdin?: boolean;
  png?: string;
  timeoutMs: number;
}

function verifyCaArg(v: string): boolean | string {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === '') throw new InvalidArgumentError('--verify-ca must be true, false or a CA bundle path');
  return v;
}

/** --verify-ca as the target's fields: a path's CA bundle is read here, the target carries its text. */
function trustOf(v: boolean | string): { verifyCa: boolean; caBundlePem?: string } {
  if (typeof v === 'boolean') return { verifyCa: v };
  try {
    return { verifyCa: true, caBundlePem: readFileSync(v, 'utf8') };
  } catch (err) {
    throw new UsageError(
      `--verify-ca: cannot read the CA bundle ${v} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) === 0)
    throw new InvalidArgumentError(`must be a positive whole number, got "${v}"`);
  return Number(v);
}

async function readStdinAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function probe(target: DirectTarget, flags: ProbeFlags, io: DirectIo): Promise<void> {
  const ms = (n: number) => `${Math.round(n)} ms`;
  const log = io.log ?? createLogger('bmc-console-proxy', { level: process.env.LOG_LEVEL ?? 'warn' });
  const kvm = await openDirectKvm(target, {
    log,
    timeoutMs: flags.timeoutMs,
    onStep: (step, t) => io.out(`${step}: ok in ${ms(t)}\n`),
  });
  let failure: unknown;
  try {
    const bridge = await loopbackBridge(kvm.stream);
    try {
      let t = performance.now();
      const client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port, timeoutMs: flags.timeoutMs });
      try {
        io.out(`rfb: ${client.width}x${client.height} "${client.name}" in ${ms(performance.now() - t)}\n`);
        t = performance.now();
        await client.requestUpdate(false);
        io.out(`frame: full ${client.width}x${client.height} in ${ms(performance.now() - t)}\n`);
        if (flags.png) {
          writeFileSync(flags.png, encodePng({ width: client.width, height: client.height, rgba: client.framebuffer }));
          io.out(`png: ${flags.png}\n`);
        }
      } finally {
        client.close();
      }
    } finally {
      bridge.close();
    }
  } catch (err) {
    failure = inStep('rfb', err);
  }
  const t = performance.now();
  try {
    await kvm.close();
    io.out(`logout: ok in ${ms(performance.now() - t)}\n`);
  } catch (err) {
    failure ??= err;
  }
  if (failure) throw failure;
}

export async function directMain(argv: string[], io: DirectIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('bmc-console-proxy direct')
    .description('Direct KVM: check that the proxy can log in to a BMC and open its console itself')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  program
    .command('probe')
    .description('log in, open the KVM, read one frame, log out; prints the size and step timings')
    .addOption(
      new Option('--vendor <vendor>', 'BMC dialect').choices(['openbmc', 'xcc3', 'idrac9']).makeOptionMandatory(),
    )
    .requiredOption('--address <url>', "the BMC's https:// address")
    .requiredOption('--username <name>', 'BMC user')
    .option('--password-stdin', 'read the password from stdin (the only way to give it)')
    .option(
      '--verify-ca <v>',
      'true (system CAs), false (accept any certificate) or a CA bundle path',
      verifyCaArg,
      true,
    )
    .option('--png <file>', 'write the frame as PNG')
    .option('--timeout-ms <n>', 'bound for each step (default 15000)', positiveInt, 15_000)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .action(async (flags: ProbeFlags) => {
      if (!flags.passwordStdin)
        throw new UsageError('--password-stdin is required: the password is read from stdin, never from arguments');
      const password = (await io.readStdin()).replace(/\r?\n$/, '');
      const trust = trustOf(flags.verifyCa);
      const parsed = DirectTargetSchema.safeParse({ ...flags, ...trust, password });
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        throw new UsageError(`${i?.path.join('.') ?? 'target'}: ${i?.message ?? 'invalid'}`);
      }
      try {
        await probe(parsed.data, flags, io);
      } catch (err) {
        io.err(`probe failed: ${err instanceof Error ? err.message : String(err)}\n`);
        code = EXIT.failed;
      }
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`bmc-console-proxy direct: ${err.message}\n`);
      return EXIT.usage;
    }
    // --help exits 0; commander printed any other usage problem already.
    return (err as { exitCode?: number }).exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return code;
}

export const defaultDirectIo: DirectIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  readStdin: readStdinAll,
};
