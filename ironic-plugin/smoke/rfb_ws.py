#!/usr/bin/env python3
"""Open an Ironic console URL the way noVNC does (WebSocket to Ironic's noVNC proxy, RFB 3.8 inside) and check it.

Prints the security types the proxy offers, the ServerInit, and with --expect-color waits until that colour
(the emulated BMC's KVM marker) is on the screen. Exit 0 on success. Standard library only.

  rfb_ws.py 'http://127.0.0.1:6090/vnc_auto.html?path=websockify%3Fnode%3D...%26token%3D...' \
            [--expect-color '#0050ff'] [--timeout 60] [--screenshot out.ppm]
"""
import argparse
import base64
import os
import socket
import struct
import sys
import time
from urllib.parse import parse_qs, unquote, urlsplit


class RfbOverWs:
    def __init__(self, url, timeout):
        u = urlsplit(url)
        path = '/' + unquote(parse_qs(u.query)['path'][0]).lstrip('/')
        self.s = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f'GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                        f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n'
                        f'Sec-WebSocket-Protocol: binary\r\nOrigin: {u.scheme}://{u.netloc}\r\n\r\n').encode())
        head = b''
        while b'\r\n\r\n' not in head:
            c = self.s.recv(1)
            if not c:
                raise SystemExit('proxy closed the connection during the WebSocket handshake')
            head += c
        status = head.split(b'\r\n')[0].decode()
        if ' 101 ' not in status:
            raise SystemExit(f'WebSocket upgrade refused: {status}')
        self.buf = bytearray()

    def _exact(self, n):
        d = b''
        while len(d) < n:
            c = self.s.recv(n - len(d))
            if not c:
                raise SystemExit('proxy closed the connection')
            d += c
        return d

    def _frame(self):
        b0, b1 = self._exact(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('>H', self._exact(2))[0]
        elif n == 127:
            n = struct.unpack('>Q', self._exact(8))[0]
        data = self._exact(n)
        if b0 & 0x0f == 8:
            raise SystemExit(f'proxy closed the WebSocket: {data[2:].decode(errors="replace")}')
        return data

    def read(self, n):
        while len(self.buf) < n:
            self.buf.extend(self._frame())
        d = bytes(self.buf[:n])
        del self.buf[:n]
        return d

    def send(self, data):
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack('>H', n))
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('url')
    ap.add_argument('--expect-color')
    ap.add_argument('--timeout', type=float, default=60)
    ap.add_argument('--screenshot')
    a = ap.parse_args()
    c = RfbOverWs(a.url, a.timeout)
    version = c.read(12)
    print('server version:', version.decode().strip())
    c.send(b'RFB 003.008\n')
    n = c.read(1)[0]
    if n == 0:
        raise SystemExit('proxy refused: ' + c.read(struct.unpack('>I', c.read(4))[0]).decode(errors='replace'))
    types = list(c.read(n))
    print('security types offered:', types)
    if 1 not in types:
        raise SystemExit('no security type None offered')
    c.send(bytes([1]))
    result = struct.unpack('>I', c.read(4))[0]
    print('security result:', result)
    if result != 0:
        raise SystemExit('security handshake failed')
    c.send(bytes([1]))  # ClientInit, shared
    w, h = struct.unpack('>HH', c.read(4))
    c.read(16)
    name = c.read(struct.unpack('>I', c.read(4))[0]).decode(errors='replace')
    print(f'ServerInit: {w}x{h} "{name}"')
    c.send(struct.pack('>BxxxBBBBHHHBBBxxx', 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))  # 32 bpp, BGRX
    c.send(struct.pack('>BxHi', 2, 1, 0))  # raw encoding only
    want = None
    if a.expect_color:
        v = a.expect_color.lstrip('#')
        want = bytes((int(v[4:6], 16), int(v[2:4], 16), int(v[0:2], 16), 0))
    fb = bytearray(w * h * 4)
    deadline = time.monotonic() + a.timeout
    incremental = 0
    while True:
        c.send(struct.pack('>BBHHHH', 3, incremental, 0, 0, w, h))
        incremental = 1
        while True:
            t = c.read(1)[0]
            if t == 0:
                break
            if t == 2:  # bell
                continue
            if t == 3:  # cut text
                c.read(3)
                c.read(struct.unpack('>I', c.read(4))[0])
                continue
            raise SystemExit(f'unexpected RFB message {t}')
        c.read(1)
        for _ in range(struct.unpack('>H', c.read(2))[0]):
            x, y, rw, rh, enc = struct.unpack('>HHHHi', c.read(12))
            if enc != 0:
                raise SystemExit(f'unexpected encoding {enc}')
            px = c.read(rw * rh * 4)
            for row in range(rh):
                o = ((y + row) * w + x) * 4
                fb[o:o + rw * 4] = px[row * rw * 4:(row + 1) * rw * 4]
        found = want is not None and any(fb[i:i + 3] == want[:3] for i in range(0, min(len(fb), w * 4 * 120), 4))
        if want is None or found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if a.screenshot:
        rgb = bytearray(w * h * 3)
        rgb[0::3], rgb[1::3], rgb[2::3] = fb[2::4], fb[1::4], fb[0::4]
        with open(a.screenshot, 'wb') as f:
            f.write(b'P6 %d %d 255\n' % (w, h) + rgb)
        print('screenshot:', a.screenshot)
    if want is not None:
        if not found:
            raise SystemExit(f'colour {a.expect_color} not on the screen within {a.timeout:g} s')
        print(f'colour {a.expect_color} is on the screen')
    return 0


if __name__ == '__main__':
    sys.exit(main())
