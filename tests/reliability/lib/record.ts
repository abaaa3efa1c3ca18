/**
 * Rows for the suite's table: each check says what it tried and what held. The post-step (report.mjs) joins them
 * with vitest's pass/fail. Rows go to $REL_OUT/rows.jsonl (one JSON object a line; files run in separate workers).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const REL_OUT = process.env.REL_OUT ?? join(new URL('../../..', import.meta.url).pathname, '.reliability');

export interface Row {
  /** The vitest test name this row belongs to (report.mjs takes pass/fail from it). */
  test: string;
  area: 'fault' | 'bad input' | 'load' | 'secrets' | 'isolation' | 'trust';
  tried: string;
  held: string;
  /** Set when a bug in another package was found: the row is shown as failed/known. */
  known?: string;
}

export function record(row: Row): void {
  mkdirSync(REL_OUT, { recursive: true });
  appendFileSync(join(REL_OUT, 'rows.jsonl'), `${JSON.stringify(row)}\n`);
}

/** Remembers a secret (token, password) the suite handed out, for the final scan of every log (report.mjs). */
const noted = new Set<string>();
export function noteSecret(secret: string): void {
  if (!secret || noted.has(secret)) return;
  noted.add(secret);
  mkdirSync(REL_OUT, { recursive: true });
  appendFileSync(join(REL_OUT, 'secrets.txt'), `${secret}\n`, { mode: 0o600 });
}
