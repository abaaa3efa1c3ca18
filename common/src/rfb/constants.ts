// RFB (RFC 6143) numbers used by this module. noVNC core/rfb.js is the model for what a client needs.

export const SecurityType = { Invalid: 0, None: 1, VncAuth: 2 } as const;

export const ClientMessage = {
  SetPixelFormat: 0,
  SetEncodings: 2,
  FramebufferUpdateRequest: 3,
  KeyEvent: 4,
  PointerEvent: 5,
  ClientCutText: 6,
} as const;

export const ServerMessage = {
  FramebufferUpdate: 0,
  SetColourMapEntries: 1,
  Bell: 2,
  ServerCutText: 3,
} as const;

export const Encoding = {
  Raw: 0,
  CopyRect: 1,
  DesktopSize: -223,
} as const;

/** Limits that keep a hostile or broken server from making us allocate without bound. */
export const Limits = {
  maxDimension: 16384,
  maxPixels: 8192 * 8192,
  maxNameLength: 64 * 1024,
  maxReasonLength: 64 * 1024,
  maxCutText: 1024 * 1024,
  maxSecurityTypes: 255,
} as const;

export const Keysym = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Return: 0xff0d,
  Escape: 0xff1b,
  Delete: 0xffff,
  ShiftL: 0xffe1,
  ControlL: 0xffe3,
  AltL: 0xffe9,
} as const;
