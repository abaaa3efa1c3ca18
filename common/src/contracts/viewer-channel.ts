/**
 * The side channel between the proxy and a viewer that asks for it: JSON text frames on the console's own
 * websocket, next to the binary RFB frames. A viewer opts in by offering the subprotocol VIEWER_CHANNEL_PROTOCOL
 * (before `binary`); a viewer that does not (noVNC, websockify clients) gets binary frames only, as before.
 */
import { z } from 'zod';
import { VIEWER_ROLES } from './agent-api.js';

export const VIEWER_CHANNEL_PROTOCOL = 'bmc-console.v1';

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO date');

const viewerSchema = z.object({
  /** The proxy's session id of this viewer's websocket. */
  session: z.string(),
  user: z.string().nullable(),
  role: z.enum(VIEWER_ROLES),
  since: isoDate,
  /** Whether this viewer's input reaches the console now (role, read-only console, exclusive holder). */
  canType: z.boolean(),
});
export type PresenceViewer = z.infer<typeof viewerSchema>;

/** Proxy -> viewer: everyone on this console; sent on joining and on every change (input at most once a second). */
export const presenceMessageSchema = z.object({
  type: z.literal('presence'),
  /** The receiving viewer's own session id. */
  you: z.string(),
  /** Someone asked for sole control: only the holder types; it hands control over, others may take it. */
  exclusive: z.boolean(),
  holder: z.string().nullable(),
  lastInput: z.object({ session: z.string(), user: z.string().nullable(), at: isoDate }).nullable(),
  recording: z.boolean(),
  viewers: z.array(viewerSchema),
});
export type PresenceMessage = z.infer<typeof presenceMessageSchema>;

/** Proxy -> viewer: why a request was not carried out. */
export const refusedMessageSchema = z.object({
  type: z.literal('refused'),
  /** `unknown`: a text frame that is not one of the requests below. */
  request: z.enum(['hand-over', 'take-control', 'unknown']),
  reason: z.string(),
});
export type RefusedMessage = z.infer<typeof refusedMessageSchema>;

/** Viewer -> proxy: the holder gives control to another control viewer, or a control viewer takes it. */
export const viewerRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hand-over'), to: z.string().min(1).max(64) }),
  z.object({ type: z.literal('take-control') }),
]);
export type ViewerRequest = z.infer<typeof viewerRequestSchema>;

export type ProxyToViewer = PresenceMessage | RefusedMessage;
