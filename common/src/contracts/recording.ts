/**
 * A session recording as the proxy writes it and the replay page and `bmc-console-proxy recordings` read it.
 *
 *   magic   8 bytes  "BMCREC1\n"
 *   header  u32 BE length, then that many bytes of JSON (recordingHeaderSchema)
 *   records u8 kind, u32 BE milliseconds since the header's start, u32 BE length, then the payload
 *   end     one record of kind END whose payload is HMAC-SHA256 (the proxy's recording key) over every byte
 *           before that payload (the end record's head, with the session's length, included); a file without it
 *           was cut short, one whose HMAC differs was altered.
 *
 * The console's bytes start right after ServerInit (the header holds ServerInit); viewer messages are whole RFB
 * client messages, so a reader needs no RFB parser to find keys. Neither the VNC password nor the token is in it:
 * the proxy authenticates to the console before recording starts, and the header holds only the token's fingerprint.
 */
import { z } from 'zod';
import { VIEWER_ROLES } from './agent-api.js';

export const RECORDING_MAGIC = 'BMCREC1\n';
export const RECORDING_EXTENSION = '.bmcrec';

export const RecordKind = {
  /** Bytes from the console to the viewer (RFB server messages), as relayed. */
  console: 1,
  /** One whole client message from the viewer that reached the console (input, update requests, encodings). */
  viewer: 2,
  /** One input message the proxy dropped (view-only link, read-only console, not the holder of control). */
  dropped: 3,
  /** A JSON event (recordingEventSchema): someone joined or left, control handed over. */
  event: 4,
  end: 255,
} as const;

export const recordingHeaderSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  session: z.string(),
  node: z.string(),
  user: z.string().nullable(),
  role: z.enum(VIEWER_ROLES),
  readOnly: z.boolean(),
  source: z.string(),
  tokenId: z.string(),
  start: z.string(),
  /** The console's ServerInit message, hex: framebuffer size, pixel format, desktop name. */
  serverInit: z.string().regex(/^([0-9a-f]{2})+$/),
  width: z.number().int(),
  height: z.number().int(),
});
export type RecordingHeader = z.infer<typeof recordingHeaderSchema>;

export const recordingEventSchema = z.object({
  /** `gap`: the disk fell behind and console bytes were left out from here on (input is still recorded). */
  event: z.enum(['joined', 'left', 'hand-over', 'take-control', 'exclusive', 'gap']),
  session: z.string(),
  user: z.string().nullable(),
  to: z.string().optional(),
  detail: z.string().optional(),
});
export type RecordingEvent = z.infer<typeof recordingEventSchema>;

/** A recording's id is its file name without the extension: `<start, compact UTC>-<node>-<session's first 8>`. */
export const RECORDING_ID_RE = /^\d{8}T\d{6}Z-[A-Za-z0-9][A-Za-z0-9._-]{0,62}-[0-9a-f]{8}$/;
