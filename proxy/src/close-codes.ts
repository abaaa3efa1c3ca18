/**
 * Websocket close codes the proxy uses, with the reason text the viewer shows. 4xxx codes are ours; the viewer
 * reconnects only after codes listed as retryable.
 */
export const CloseCode = {
  normal: { code: 1000, reason: 'session closed' },
  shuttingDown: { code: 1001, reason: 'console proxy is restarting' },
  textFrame: { code: 1003, reason: 'binary frames only' },
  tooBig: { code: 1009, reason: 'message too big' },
  pingTimeout: { code: 4000, reason: 'viewer stopped answering pings' },
  securityFailed: { code: 4400, reason: 'RFB security negotiation failed' },
  clientMessage: { code: 4400, reason: 'viewer sent an RFB message the proxy does not know' },
  tokenExpired: { code: 4401, reason: 'console access token expired' },
  tokenRevoked: { code: 4403, reason: 'console access was revoked' },
  idle: { code: 4408, reason: 'closed after inactivity' },
  maxSession: { code: 4409, reason: 'maximum session length reached' },
  consoleClosed: { code: 4502, reason: 'console connection closed' },
  consoleUnreachable: { code: 4503, reason: 'console not reachable' },
  consoleAuthFailed: { code: 4504, reason: 'proxy could not authenticate to the console' },
  recordingUnavailable: { code: 4505, reason: 'recording required but not available' },
  // Direct consoles: the reason the viewer gets is the BMC step's own message (DirectKvmError holds no secret).
  bmcLoginRefused: { code: 4506, reason: 'the BMC refused the login' },
  bmcBusy: { code: 4507, reason: 'the BMC has no free console session' },
  bmcCertificate: { code: 4508, reason: "the BMC's certificate failed the node's trust rule" },
} as const;

export type CloseKind = keyof typeof CloseCode;
