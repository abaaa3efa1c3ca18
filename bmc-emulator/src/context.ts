import type { IncomingMessage } from 'node:http';
import type { Logger } from '@bmc-console/common/log';
import type { Faults } from './faults.js';
import type { Req, Res } from './http.js';
import type { Feature, Profile } from './profiles.js';
import type { EmulatorState, Session } from './state.js';

/** What every vendor web UI and the Redfish core share. */
export interface Ctx {
  profile: Profile;
  state: EmulatorState;
  faults: Faults;
  features: Set<Feature>;
  username: string;
  password: string;
  node: string;
  log: Logger;
  /** "127.0.0.1:<port>" of the main HTTPS listener. */
  hostPort(): string;
  /** XCC remote-presence (viewer) port, when the profile has one. */
  rpPort(): number | undefined;
  /** Checks credentials (honouring --fault wrong-password) and counts the attempt. */
  checkLogin(user: unknown, password: unknown): boolean;
  has(f: Feature): boolean;
}

/** A WebSocket upgrade as the vendor sees it (no body). */
export interface UpgradeReq {
  raw: IncomingMessage;
  url: URL;
  path: string;
  cookies: Record<string, string>;
  protocols: string[];
}

export type UpgradeDecision =
  | { accept: false; status: number; message: string }
  | {
      accept: true;
      /** Subprotocol to echo (the vendor's choice), if any. */
      protocol?: string;
      /** Label for state/logouts, e.g. "/vnc/vconsole". */
      vendorPath: string;
      /** Which launch path opened this console (Profile.launch names them), asked once video starts. */
      launch?: () => string;
      /** What a viewer beyond the cap gets: iDRAC joins "shared" without video, others are refused as busy. */
      overCap: 'shared' | 'busy';
      busyMessage: string;
      /** When set, the first client message must pass this check before video starts (XCC RPViewer credentials). */
      authMessage?: (msg: Record<string, unknown>) => boolean;
      /**
       * Vendor binary preamble before the console starts: the server sends `challenge`, the client's first binary
       * message must pass `check`, then `confirm` is sent (iDRAC f7 b3 -> VCSID2; iLO 80 -> hello -> 82).
       */
      handshake?: { challenge: number[]; check: (answer: Buffer) => boolean; confirm?: number[] };
      /** The BMC's real RFB dialect this socket speaks (kvm.ts speaksRfb); unset: the emulator page's JSON protocol. */
      rfb?: 'obmc' | 'idrac';
    };

/** One vendor's web UI. */
export interface WebUi {
  /** Serves a web-UI request; false when the path is not the UI's. */
  handle(req: Req, res: Res): Promise<boolean> | boolean;
  /** Decides a WebSocket upgrade on a KVM path; undefined when the path is not a KVM socket. */
  kvmUpgrade(req: UpgradeReq): UpgradeDecision | undefined;
  /** Adds vendor cookies to a fresh Redfish session response (bmcweb, Supermicro SID). True: omit X-Auth-Token. */
  onRedfishSession?(req: Req, res: Res, s: Session): boolean;
  /** Session authenticated by a vendor cookie on Redfish paths, or 'csrf' when the CSRF header is missing. */
  redfishCookieAuth?(req: Req): Session | 'csrf' | undefined;
}
