/**
 * The contract between the supervisor and the vendor scripts in `image/vendor-scripts/` (one file per BMC
 * family, registered in `image/vendor-scripts/index.ts`). A script turns a logged-out browser page into the
 * BMC's HTML5 KVM, full screen, and back.
 */
import type { BrowserContext } from './cdp/browser.js';
import type { Page } from './cdp/page.js';
import type { Logger } from '@bmc-console/common/log';
import type { BmcTarget } from '@bmc-console/common/console-env';
import type { Discovery } from '@bmc-console/common/discovery/types';
import type { RedfishClient } from '@bmc-console/common/redfish/client';

export type { Discovery };

/** A frame of the kiosk page (old vendor UIs nest their forms in framesets). */
export type { Frame } from './cdp/frame.js';

export type { BmcTarget };

/** A failure a person can act on: shown large on the status page and logged (never with secrets). */
export class ConsoleFailure extends Error {
  constructor(
    /** What went wrong, in one line: "The BMC rejected the user name or password". */
    override readonly cause: string,
    /** What to check: "Check the username and password in the node's driver_info". */
    readonly hint: string,
    /** Machine-readable kind, for tests and metrics. */
    readonly kind: FailureKind,
  ) {
    super(cause);
    this.name = 'ConsoleFailure';
  }
}
export type FailureKind =
  | 'unreachable'
  | 'tls'
  | 'auth'
  | 'kvm-busy'
  | 'unsupported'
  | 'bmc-error'
  | 'config'
  | 'internal';

export interface KeyPacing {
  /** Delay between typed keys in ms (0 = no pacing). */
  keyDelayMs: number;
}

export interface ConsoleContext {
  /** The kiosk page: the one page that fills the screen. Scripts navigate it, never open other windows. */
  page: Page;
  context: BrowserContext;
  bmc: BmcTarget;
  discovery: Discovery;
  /** Redfish client for this BMC, honouring verify_ca. */
  redfish: RedfishClient;
  /** Report the step that is running ("Logging in to iDRAC"): shown on the status page / overlay. */
  status(step: string): Promise<void>;
  log: Logger;
  keys: KeyPacing;
  /** Aborted when the supervisor shuts down or the viewer left: stop waiting, return quickly. */
  signal: AbortSignal;
  /** Display size, for scripts that must size the KVM canvas. */
  display: { width: number; height: number };
  /** The node's name or UUID when known (APP_INFO node_uuid), for messages. */
  node?: string;
}

export interface VendorScript {
  /** BMC family this script serves: 'idrac' | 'ilo' | 'xcc' | 'smc-bmc' | 'openbmc' | 'ami-megarac' | 'generic' | 'fake'. */
  readonly family: string;
  /** Human name for the status page: "Dell iDRAC". */
  readonly displayName: string;
  /** Usually d.family === this.family; the generic script matches everything and is tried last. */
  matches(d: Discovery): boolean;
  /** Primary path, then fallback; resolves with the KVM full screen. Throws ConsoleFailure for known failures. */
  open(ctx: ConsoleContext): Promise<void>;
  /** False when the KVM is gone (session expired, logged out); the supervisor then calls open() again. */
  isAlive(ctx: ConsoleContext): Promise<boolean>;
  /** Close the KVM and log out of the BMC (Redfish session DELETE or web logout). Must not throw. */
  close(ctx: ConsoleContext): Promise<void>;
}
