// Emulated HTML5 KVM viewer. Draws the host's text console (vendor, node, clock) on a canvas once the console
// socket says "ok", with a profile-coloured marker square at the top-left. Keys and clicks go to the emulator.
window.__kvmStart = function (cfg) {
  'use strict';
  var canvas = document.getElementById(cfg.canvasId);
  var g = canvas.getContext('2d');
  var status = 'connecting';
  var message = 'Connecting to ' + cfg.label + ' ...';
  var typed = '';
  var clicks = 0;
  var last = null;
  var ws;
  // Animation (cfg.animateFps > 0): frames drawn so far; the counter strip shows it so a viewer can count frames.
  var frame = 0;
  var STRIP_BITS = 16, STRIP_Y = 728, STRIP_H = 40;

  function setStatus(s, m) {
    status = s;
    if (m !== undefined) message = m;
    document.body.dataset.kvm = s;
    draw();
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  function draw() {
    g.fillStyle = '#000';
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.textBaseline = 'top';
    if (status !== 'ok') {
      // No video: a plain message, never the marker colour.
      g.fillStyle = '#aaaaaa';
      g.font = '28px monospace';
      // Word-wrap the message to the canvas width.
      var words = message.split(' '), line = '', y = 320;
      for (var i = 0; i < words.length; i++) {
        var next = line ? line + ' ' + words[i] : words[i];
        if (g.measureText(next).width > canvas.width - 80 && line) { g.fillText(line, 40, y); y += 40; line = words[i]; }
        else line = next;
      }
      g.fillText(line, 40, y);
      return;
    }
    if (cfg.animateFps) drawMoving();
    g.fillStyle = cfg.color;
    g.fillRect(0, 0, 64, 64);
    var now = new Date();
    var clock = now.getUTCFullYear() + '-' + pad(now.getUTCMonth() + 1) + '-' + pad(now.getUTCDate()) + ' ' +
      pad(now.getUTCHours()) + ':' + pad(now.getUTCMinutes()) + ':' + pad(now.getUTCSeconds()) + ' UTC';
    g.fillStyle = '#e0e0e0';
    g.font = 'bold 44px monospace';
    g.fillText(cfg.label, 96, 24);
    g.font = '36px monospace';
    g.fillText('node: ' + cfg.node, 40, 120);
    g.fillText(clock, 40, 180);
    g.font = '28px monospace';
    g.fillText(cfg.node + ' login: _', 40, 280);
    var shown = typed.replace(/\n/g, '\u23ce');
    if (shown.length > 50) shown = '...' + shown.slice(-47);
    g.fillText('typed: ' + shown, 40, 420);
    g.fillText('clicks: ' + clicks + (last ? ' at ' + last.x + ',' + last.y : ''), 40, 470);
    if (cfg.animateFps) drawCounter();
  }

  // Grey diagonal bands that move every frame, so every part of the screen changes (grey never matches a marker).
  function drawMoving() {
    var shift = (frame * 12) % 128;
    for (var x = -768 - 128 + shift; x < canvas.width; x += 64) {
      g.fillStyle = ((x - shift) / 64) % 2 ? '#303030' : '#585858';
      g.beginPath();
      g.moveTo(x, 0); g.lineTo(x + 64, 0); g.lineTo(x + 64 + 768, 768); g.lineTo(x + 768, 768);
      g.closePath();
      g.fill();
    }
  }

  // The frame number's low STRIP_BITS bits as white (1) and black (0) cells along the bottom, least significant first.
  function drawCounter() {
    var w = canvas.width / STRIP_BITS;
    for (var i = 0; i < STRIP_BITS; i++) {
      g.fillStyle = (frame >> i) & 1 ? '#ffffff' : '#000000';
      g.fillRect(i * w, STRIP_Y, w, STRIP_H);
    }
  }

  function send(obj) {
    if (ws && ws.readyState === 1 && status === 'ok') ws.send(JSON.stringify(obj));
  }

  function connect() {
    var url = /^wss?:/.test(cfg.wsUrl) ? cfg.wsUrl : (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + cfg.wsUrl;
    try {
      // 'bmc-emulator.page' after the vendor's subprotocol tells the emulator this is its own page (JSON protocol);
      // a real viewer offers only the vendor's and gets the BMC's RFB.
      ws = cfg.protocols.length ? new WebSocket(url, cfg.protocols.concat(['bmc-emulator.page'])) : new WebSocket(url);
    } catch (e) {
      setStatus('error', 'Console connection failed: ' + e.message);
      return;
    }
    ws.binaryType = 'arraybuffer';
    ws.onopen = function () {
      if (cfg.authMessage && !cfg.handshake) ws.send(JSON.stringify(cfg.authMessage));
    };
    ws.onmessage = function (ev) {
      var m;
      if (ev.data instanceof ArrayBuffer) {
        // Vendor preamble: answer the challenge, then (if any) send the private auth message.
        var b = new Uint8Array(ev.data);
        if (!cfg.handshake) return;
        var answer = new Uint8Array(34), secret = cfg.handshake.secret, i;
        if (cfg.handshake.kind === 'idrac' && b[0] === 0xf7 && b[1] === 0xb3) {
          answer[0] = 247; answer[1] = 179;
          for (i = 0; i < 24; i++) answer[2 + i] = i < secret.length ? secret.charCodeAt(i) : 0;
        } else if (cfg.handshake.kind === 'ilo' && b[0] === 80) {
          answer[0] = 0; answer[1] = 32;
          for (i = 0; i < 32; i++) answer[2 + i] = i < secret.length ? secret.charCodeAt(i) : 0;
        } else return;
        ws.send(answer.buffer);
        if (cfg.authMessage) ws.send(JSON.stringify(cfg.authMessage));
        return;
      }
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === 'hello') setStatus(m.status, m.message || '');
      else if (m.type === 'input') {
        typed = m.typed; clicks = m.clicks; last = m.last; draw();
        // When the redraw goes to the screen (the next animation frame), on the wall clock: benchmarks split a
        // keystroke's way back at this point.
        requestAnimationFrame(function () { send({ type: 'drawn', at: performance.timeOrigin + performance.now() }); });
      }
    };
    ws.onclose = function (ev) {
      if (status === 'ok') setStatus('closed', 'Console session ended.');
      else if (status === 'connecting') setStatus('error', 'Console connection refused' + (ev.reason ? ': ' + ev.reason : '.'));
    };
  }

  document.addEventListener('keydown', function (e) {
    if (status !== 'ok') return;
    e.preventDefault();
    send({ type: 'key', key: e.key });
  });
  canvas.addEventListener('mousedown', function (e) {
    if (status !== 'ok') return;
    var r = canvas.getBoundingClientRect();
    // object-fit: contain letterboxes the canvas; map the click into canvas pixels.
    var scale = Math.min(r.width / canvas.width, r.height / canvas.height);
    var ox = r.left + (r.width - canvas.width * scale) / 2;
    var oy = r.top + (r.height - canvas.height * scale) / 2;
    var x = Math.round((e.clientX - ox) / scale), y = Math.round((e.clientY - oy) / scale);
    if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
    canvas.focus();
    send({ type: 'click', x: x, y: y });
  });
  window.addEventListener('pagehide', function () { if (ws) ws.close(1000, 'window-close'); });
  if (cfg.animateFps) setInterval(function () { if (status === 'ok') { frame++; draw(); } }, 1000 / cfg.animateFps);
  else setInterval(function () { if (status === 'ok') draw(); }, 1000);
  draw();
  canvas.focus();
  connect();
};
if (window.__KVM) window.__kvmStart(window.__KVM);
