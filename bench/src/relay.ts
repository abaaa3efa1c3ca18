import type { Endpoint } from './bench-client.js';

export type RelayName = 'bmc-console-proxy' | 'websockify' | 'raw TCP relay';

/** One relay under test, running as its own process tree rooted at `pid`. */
export interface RelayUnderTest {
  name: RelayName;
  pid: number;
  /** A fresh endpoint per session (our proxy gets a new token each time). */
  endpoint(): Endpoint;
  stop(): Promise<void>;
  /** Asks the relay for a full garbage collection before a memory sample (node relays only). */
  collectGarbage?(): void;
}
