/**
 * Temporary directories for tests that go away when the test file ends. Import this module statically (at the top
 * of a test file or of a helper it imports): the import registers the file's cleanup hook.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const dirs: string[] = [];

// Vitest evaluates this module afresh for every test file and runs afterAll hooks in reverse order, so this one runs
// last: after the file's own hooks have stopped the agents, emulators and consoles still writing to these dirs.
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new directory under the system temp dir (named `<prefix>XXXXXX`), removed after the current test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
