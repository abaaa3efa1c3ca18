// Reads the shell commands that README.md and docs/*.md show in fenced sh/bash/shell/console blocks, so a test can
// run each one exactly as a reader would copy it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocCommand {
  /** Repository-relative file and 1-based line of the command's first line, e.g. `docs/image.md:97`. */
  where: string;
  /** The command as a reader copies it: continuation lines and a heredoc's body included. */
  command: string;
}

const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console']);

/** The Markdown files whose commands must work: the README and every page under docs/. */
function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export function docCommands(root: string): DocCommand[] {
  return docFiles(root).flatMap((file) => commandsIn(file, readFileSync(join(root, file), 'utf8')));
}

/** The commands of one Markdown text; `file` only names them. */
function commandsIn(file: string, markdown: string): DocCommand[] {
  const lines = markdown.split('\n');
  const out: DocCommand[] = [];
  let lang: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fence = /^```\s*([\w-]*)/.exec(line);
    if (fence) {
      lang = lang === undefined ? (fence[1] ?? '') : undefined;
      continue;
    }
    if (lang === undefined || !SHELL_LANGS.has(lang)) continue;
    // A console block shows prompts: only `$ ` lines are commands, the rest is output.
    let text = line;
    if (lang === 'console') {
      if (!text.startsWith('$ ')) continue;
      text = text.slice(2);
    }
    if (text.trim() === '' || text.trimStart().startsWith('#')) continue;
    const start = i;
    const parts = [text];
    while (/\\\s*$/.test(parts[parts.length - 1] ?? '') && i + 1 < lines.length && !lines[i + 1]?.startsWith('```')) {
      i++;
      parts.push(lines[i] ?? '');
    }
    const heredoc = /<<-?\s*'?"?(\w+)'?"?/.exec(parts.join('\n'));
    if (heredoc) {
      const end = heredoc[1];
      while (i + 1 < lines.length && !lines[i + 1]?.startsWith('```')) {
        i++;
        parts.push(lines[i] ?? '');
        if (lines[i]?.trim() === end) break;
      }
    }
    out.push({ where: `${file}:${start + 1}`, command: parts.join('\n') });
  }
  return out;
}
