import { pino, type Logger, type LoggerOptions } from 'pino';
import { SECRET_VARIABLES } from './contracts/secret-names.js';

/** Keys whose values are secrets wherever they appear in a log object; the console's secret variables among them. */
export const SECRET_KEYS = [
  'password',
  'token',
  'vncPassword',
  'vnc_password',
  'secret',
  'authorization',
  'cookie',
  'x-auth-token',
  ...SECRET_VARIABLES,
] as const;

const redactPaths = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dotted = key.startsWith('[') ? key : `.${key}`;
  return [key, `*${dotted}`, `*.*${dotted}`, `*.*.*${dotted}`];
});

export type { Logger };

/**
 * One logger factory for every program: pino JSON on stdout, secrets redacted by key.
 * `DEBUG=1` (or a truthy DEBUG) lowers the level to debug; LOG_LEVEL sets it explicitly.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const debug = /^(1|true|yes)$/i.test(process.env.DEBUG ?? '');
  return pino({
    name,
    level: process.env.LOG_LEVEL ?? (debug ? 'debug' : 'info'),
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...options,
  });
}

/** Replaces each secret value that occurs in a free-text string (an error message, a child's stderr). */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('[redacted]');
  return out;
}
