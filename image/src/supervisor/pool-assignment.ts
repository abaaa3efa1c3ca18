/**
 * A pooled console (AWAIT_APP_INFO) waiting for its node: listens for `bmc-console assign` (assignment.ts), checks
 * the node like the environment would be checked, keeps a CA bundle in a file of the console's own, and hands the
 * node's environment to the supervisor once. Refusals go back to `bmc-console assign`, free of secrets.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname, join } from 'node:path';
import { ConsoleEnvError, parseConsoleEnv, type ConsoleEnv } from '@bmc-console/common/console-env';
import { secretFileVariable, SECRET_VARIABLE_OF } from '@bmc-console/common/contracts/secret-names';
import { listenForAssignment, type Assignment } from './assignment.js';

const { appInfo: APP_INFO, vncPassword: VNC_PASSWORD } = SECRET_VARIABLE_OF;

/** waiting: no node yet; assigned: a node was taken (the socket stays, to refuse a second one); closed: stopped. */
export type PoolAssignmentState = 'waiting' | 'assigned' | 'closed';

export interface PoolAssignmentOptions {
  /** The console's own environment, which the node's APP_INFO and VNC password complete. */
  env: Record<string, string | undefined>;
  socket: string;
  runtimeDir: string;
  /** The console is stopping: an assignment now is refused. */
  stopping(): boolean;
  /** The node's environment, checked; the answer to `bmc-console assign` goes without waiting for its setup. */
  assigned(env: ConsoleEnv): void;
}

export class PoolAssignment {
  private current: PoolAssignmentState = 'waiting';
  private server: Server | undefined;

  constructor(private readonly opts: PoolAssignmentOptions) {}

  get state(): PoolAssignmentState {
    return this.current;
  }

  async listen(): Promise<void> {
    this.server = await listenForAssignment(this.opts.socket, (a) => this.assign(a));
  }

  close(): void {
    this.current = 'closed';
    this.server?.close();
  }

  /** Returns the refusal, or undefined when the node was taken. */
  private async assign(a: Assignment): Promise<string | undefined> {
    if (this.current === 'assigned') return 'this console has its node already';
    if (this.current === 'closed' || this.opts.stopping()) return 'the console is stopping';
    // A CA bundle comes as text: it goes into a file of this console's own, which verify_ca then names.
    const ca =
      a.caBundle === undefined ? undefined : { file: join(this.opts.runtimeDir, 'ca', 'bmc-ca.pem'), text: a.caBundle };
    let env: ConsoleEnv;
    try {
      env = parseConsoleEnv({
        ...this.opts.env,
        [APP_INFO]: JSON.stringify(ca ? { ...a.appInfo, verify_ca: ca.file } : a.appInfo),
        [secretFileVariable(APP_INFO)]: undefined,
        AWAIT_APP_INFO: 'false',
        ...(a.vncPassword ? { [VNC_PASSWORD]: a.vncPassword, [secretFileVariable(VNC_PASSWORD)]: undefined } : {}),
      });
    } catch (err) {
      if (err instanceof ConsoleEnvError) return err.message; // never contains the password
      throw err;
    }
    this.current = 'assigned';
    if (ca) {
      mkdirSync(dirname(ca.file), { recursive: true, mode: 0o700 });
      writeFileSync(ca.file, ca.text, { mode: 0o600 });
    }
    this.opts.assigned(env);
    return undefined;
  }
}
