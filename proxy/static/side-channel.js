// The console websocket with the proxy's side channel (common/src/contracts/viewer-channel.ts): binary frames are
// RFB and go to noVNC; text frames are JSON for us. noVNC gets this object instead of the WebSocket because it
// would take a text frame for RFB bytes and break.

export const VIEWER_CHANNEL_PROTOCOL = 'bmc-console.v1';

/** A WebSocket look-alike with the properties noVNC's Websock.attach checks for. */
export class ConsoleChannel {
  /**
   * @param {string} url
   * @param {{ onJson: (msg: unknown) => void, onClose: (e: CloseEvent) => void }} opts onClose runs before noVNC
   *   hears of the close, so its disconnect handler can read the close code.
   */
  constructor(url, { onJson, onClose }) {
    this.ws = new WebSocket(url, [VIEWER_CHANNEL_PROTOCOL, 'binary']);
    this.ws.binaryType = 'arraybuffer';
    this.binaryType = 'arraybuffer';
    this.onopen = null;
    this.onmessage = null;
    this.onerror = null;
    this.onclose = null;
    this.ws.onopen = (e) => this.onopen?.(e);
    this.ws.onerror = (e) => this.onerror?.(e);
    this.ws.onclose = (e) => {
      onClose(e);
      this.onclose?.(e);
    };
    this.ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return this.onmessage?.(e);
      // Only a proxy that selected our protocol sends text; anything else there is ignored, never fed to noVNC.
      if (!this.sideChannel) return;
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      onJson(msg);
    };
  }

  /** Whether the proxy selected the side channel (known once open). */
  get sideChannel() {
    return this.ws.protocol === VIEWER_CHANNEL_PROTOCOL;
  }

  get protocol() {
    return this.ws.protocol;
  }

  get readyState() {
    return this.ws.readyState;
  }

  send(data) {
    this.ws.send(data);
  }

  /** Sends one side-channel request; false when the proxy has no side channel or the socket is not open. */
  sendJson(msg) {
    if (!this.sideChannel || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  close(code, reason) {
    this.ws.close(code, reason);
  }

  addEventListener(type, fn) {
    this.ws.addEventListener(type, fn);
  }
}
