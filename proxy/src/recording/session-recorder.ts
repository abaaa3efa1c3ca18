import type { RecordingEvent } from '@bmc-console/common/contracts/recording';
import type { ViewerRole } from '@bmc-console/common/contracts/agent-api';

/** What a recording knows of its session when it starts (right after ServerInit went to the viewer). */
export interface RecordedSession {
  session: string;
  node: string;
  user: string | null;
  role: ViewerRole;
  readOnly: boolean;
  source: string;
  tokenId: string;
  start: Date;
  /** The console's whole ServerInit message as the viewer got it. */
  serverInit: Buffer;
}

/**
 * The tap a console session writes its recording through. Calls never throw and never block the relay; none keeps
 * a buffer it was handed after returning (console reads live in pooled buffers that are reused).
 */
export interface SessionRecorder {
  /** Bytes relayed from the console to the viewer. */
  consoleBytes(b: Buffer): void;
  /** One whole RFB client message from the viewer: `dropped` when the proxy did not forward it. */
  viewerMessage(b: Buffer, dropped: boolean): void;
  event(e: RecordingEvent): void;
  /** Writes the end record (its HMAC) and closes the file. */
  close(): Promise<void>;
}

/** Opens a recording for a session; throws (a readable message) when it cannot, and the session is then refused. */
export type RecorderFactory = (s: RecordedSession) => SessionRecorder;
