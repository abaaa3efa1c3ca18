import { mkdirSync } from 'node:fs';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ViewerRole } from '@bmc-console/common/contracts/agent-api';
import type { DirectTarget, ServedMode } from '@bmc-console/common/contracts/direct-target';
import { withLock } from './file-lock.js';

/** A running (or dead) console as the agent remembers it. */
export interface ConsoleState {
  node: string;
  provider: string;
  app: string;
  /** Absent in state written before direct consoles existed: a container. */
  mode?: ServedMode;
  /** Where its RFB answers: the container's port, or a direct console's relay (absent while none serves it). */
  host?: string;
  port?: number;
  /**
   * A direct console's BMC with its credentials: kept (0600 file, which already holds VNC passwords) because the
   * proxy and the RFB relay log in with them for every viewer.
   */
  direct?: DirectTarget;
  readOnly: boolean;
  /** Kept (0600 file) because the proxy needs it to answer x11vnc's challenge. */
  vncPassword?: string;
  /** The proxy records every session; absent in state written before recording existed (false). */
  record?: boolean;
  startedAt: string;
  status: 'running' | 'died';
  diedAt?: string;
}

export interface TokenEntry {
  /** SHA-256 of the token, hex. The token itself is never stored. */
  hash: string;
  node: string;
  host?: string;
  port?: number;
  /** A direct console's BMC (with its credentials, like vncPassword): dropped when the token is revoked. */
  direct?: DirectTarget;
  readOnly: boolean;
  vncPassword?: string;
  /** The console's record option when the token was issued; absent in older state (false). */
  record?: boolean;
  /** The token's claims; absent in older state: a control link without a name (see claimsOf). */
  role?: ViewerRole;
  user?: string;
  exclusive?: boolean;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
}

export interface AgentState {
  version: 1;
  consoles: Record<string, ConsoleState>;
  tokens: TokenEntry[];
}

const empty = (): AgentState => ({ version: 1, consoles: {}, tokens: [] });

/**
 * The agent's state in one JSON file (0600), written atomically (temp file + rename) under a lock file,
 * so it survives restarts and a CLI and a server can share it.
 */
export class StateStore {
  readonly file: string;
  private readonly lockFile: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'locks'), { recursive: true, mode: 0o700 });
    this.file = join(dir, 'state.json');
    this.lockFile = join(dir, 'locks', 'state.lock');
  }

  /** The lock file that serialises start/stop of one node across processes. */
  nodeLockFile(node: string): string {
    return join(this.dir, 'locks', `node-${node}.lock`);
  }

  async read(): Promise<AgentState> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty();
      throw err;
    }
    const data = JSON.parse(text) as AgentState;
    return { ...empty(), ...data };
  }

  /** Read-modify-write under the state lock. */
  async update<T>(fn: (state: AgentState) => T | Promise<T>): Promise<T> {
    return withLock(
      this.lockFile,
      async () => {
        const state = await this.read();
        const result = await fn(state);
        const tmp = `${this.file}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(state, null, 1), { mode: 0o600 });
        await chmod(tmp, 0o600);
        await rename(tmp, this.file);
        return result;
      },
      30_000,
    );
  }
}
