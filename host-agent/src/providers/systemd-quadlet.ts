/**
 * Writes Quadlet `.container` files. Quadlet copies values into the generated unit's ExecStart, where systemd
 * expands `%` specifiers and `$VAR`s, and it splits word-list keys (Environment, Label, PodmanArgs, Secret, ...)
 * on whitespace with systemd's quoting, while Volume/PublishPort/Network are one value each. So every value is escaped here (`%%`, `$$`, double quotes);
 * control characters are refused, since no secret (the only free text) is ever written to a unit file.
 */
export type QuadletSection = [section: string, entries: [key: string, value: string][]];

/** Keys Quadlet takes to the end of the line as one value (checked with quadlet -dryrun: quotes stay literal). */
const TEXT_KEYS = new Set(['Description', 'Volume', 'PublishPort', 'Network']);
/** Keys Quadlet splits into words with systemd's quoting. */
const WORD_KEYS = new Set([
  'Environment',
  'Label',
  'PodmanArgs',
  'EnvironmentFile',
  'Annotation',
  'Secret',
  'DropCapability',
]);

class QuadletValueError extends Error {}

/** Escapes one value for systemd: specifiers and variables always, quoting for word-list keys. */
export function escapeQuadletValue(key: string, value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point: a unit file cannot hold them.
  if (/[\x00-\x1f\x7f]/.test(value))
    throw new QuadletValueError(`${key}: control characters (e.g. newlines) cannot go into a unit file`);
  const literal = value.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (TEXT_KEYS.has(key)) return literal;
  if (!WORD_KEYS.has(key)) {
    if (/\s/.test(value))
      throw new QuadletValueError(`${key}: expected a value without spaces, got ${JSON.stringify(value)}`);
    return literal;
  }
  return /[\s"'\\;]/.test(literal) || literal === ''
    ? `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
    : literal;
}

export function renderQuadletUnit(header: string, sections: QuadletSection[]): string {
  const lines = header.split('\n').map((l) => `# ${l}`);
  for (const [name, entries] of sections) {
    lines.push(`[${name}]`);
    for (const [k, v] of entries) lines.push(`${k}=${escapeQuadletValue(k, v)}`);
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * Splits an ExecStart line into argv the way systemd does (double/single quotes, backslash escapes, then `%%` and
 * `$$`). Used by tests to prove a value survives Quadlet unchanged.
 */
export function splitExecStart(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') {
        const n = line[++i] ?? '';
        cur += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      } else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      cur += line[++i] ?? '';
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) args.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) args.push(cur);
  return args.map((a) => a.replace(/%%/g, '%').replace(/\$\$/g, '$'));
}
