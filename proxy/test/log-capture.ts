import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A proxy logger whose JSON lines the test reads back: parsed (`lines`) and as written (`text()`). */
export interface LogCapture {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  text(): string;
}

export function captureLogs(level: 'debug' | 'info' = 'info'): LogCapture {
  const lines: Array<Record<string, unknown>> = [];
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const s = chunk.toString();
      text += s;
      for (const line of s.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines, text: () => text };
}
