// voxgate page: the WebSocket audio path (GET /ws/audio), used where
// WebRTC cannot get through (an HTTP-only proxy, a PaaS router) or when the
// page is told to (?transport=ws). app.js decides when; this file carries
// the audio: microphone → 20 ms frames → Opus (WebCodecs AudioEncoder) or
// 16-bit PCM → binary WebSocket messages; and back, for echo: messages →
// AudioDecoder or PCM → a small jitter buffer in an AudioWorklet → the
// speakers and a MediaStream the page's return meter and recorder read.
//
// The protocol (the server's side is src/app; both follow the same text):
//   client → {"mode":"echo"|"transcribe","codec":"opus"|"pcm16","sample_rate":N}
//   server → {"type":"ready","id","mode","codec","sample_rate"}
//   client → binary audio, one Opus packet or a run of PCM16 LE samples per message
//   server → echo: each binary message back, unchanged, in order;
//            transcribe: the session's JSON events (partial, final, state,
//            error, lag, done)
//   client → {"type":"ping","t"} ⇄ server {"type":"pong","t"}: the round trip
//   client → {"type":"stop"}: echo ends (close 1000); transcribe finishes
//            the audio, sends the last finals and {"type":"done"}, closes 1000
//   server → {"type":"error","text"} then a close code saying why (1003,
//            1007, 1008, 1009, 1011, 1013)
// Plain script, no build step: it defines window.VoxgateWs for app.js.
'use strict';

window.VoxgateWs = (() => {
  const OPUS_RATE = 48000;        // the only rate the server takes Opus at (its RTP clock)
  const FRAME_MS = 20;            // one message per 20 ms frame, as a WebRTC packet
  const OPUS_BITRATE = 32000;     // speech, mono: what Chrome's WebRTC sends by default
  const PING_MS = 1000;
  const PLAY_TARGET_MS = 60;      // jitter buffer: start (and restart after an underrun) with this much
  const PLAY_MAX_MS = 300;        // ... and never let it grow past this: drop the oldest
  const PLAY_TRIM_S = 1;          // ... and when it never ran below the target for this long, trim the excess
  const SEND_BACKLOG_S = 0.5;     // the socket is this far behind: drop frames rather than queue them
  const ECHO_STOP_WAIT_MS = 1000; // echo: Stop sent, the server's close expected by then

  // The worklet processors, loaded from a Blob URL once per AudioContext.
  //  vg-capture: its input in frames of processorOptions.frame samples,
  //              posted (transferred) to the page.
  //  vg-player:  plays Float32Array chunks posted to it, through a jitter
  //              buffer: silent until PLAY_TARGET worth is queued (again
  //              after running dry), the oldest dropped past PLAY_MAX.
  //              Input and output run at the same rate, so the delay a
  //              burst adds would stay for good: when the buffer has not
  //              been below the target for PLAY_TRIM_S, the excess over
  //              the target (the lowest fill seen) is dropped at once.
  const WORKLET = `
    registerProcessor('vg-capture', class extends AudioWorkletProcessor {
      constructor(opt) {
        super();
        this.frame = opt.processorOptions.frame;
        this.buf = new Float32Array(this.frame);
        this.n = 0;
        this.on = true;
        this.port.onmessage = () => { this.on = false; };
      }
      process(inputs) {
        if (!this.on) return false;
        const ch = inputs[0] && inputs[0][0];
        if (!ch) return true;
        for (let i = 0; i < ch.length;) {
          const k = Math.min(ch.length - i, this.frame - this.n);
          this.buf.set(ch.subarray(i, i + k), this.n);
          this.n += k;
          i += k;
          if (this.n === this.frame) {
            this.port.postMessage(this.buf, [this.buf.buffer]);
            this.buf = new Float32Array(this.frame);
            this.n = 0;
          }
        }
        return true;
      }
    });
    registerProcessor('vg-player', class extends AudioWorkletProcessor {
      constructor(opt) {
        super();
        const o = opt.processorOptions;
        this.ring = new Float32Array(o.capacity);
        this.r = 0;
        this.fill = 0;
        this.target = o.target;
        this.max = o.max;
        this.trimEvery = o.trimEvery;
        this.low = Infinity;       // lowest fill while playing, since the last trim
        this.since = 0;            // samples played since the last trim
        this.playing = false;
        this.underruns = 0;
        this.dropped = 0;
        this.quanta = 0;
        this.port.onmessage = (e) => this.push(e.data);
      }
      push(x) {
        const cap = this.ring.length;
        if (x.length >= cap) x = x.subarray(x.length - cap + 1);
        const over = this.fill + x.length - Math.min(cap - 1, this.max);
        if (over > 0) { this.skip(over); }
        let w = (this.r + this.fill) % cap;
        for (let i = 0; i < x.length; i++) { this.ring[w] = x[i]; w = w + 1 === cap ? 0 : w + 1; }
        this.fill += x.length;
      }
      skip(n) {
        n = Math.min(n, this.fill);
        this.r = (this.r + n) % this.ring.length;
        this.fill -= n;
        this.dropped += n;
      }
      process(inputs, outputs) {
        const out = outputs[0];
        const len = out[0].length;
        if (!this.playing && this.fill >= this.target) this.playing = true;
        if (this.playing) {
          const k = Math.min(len, this.fill);
          const cap = this.ring.length;
          for (let i = 0; i < k; i++) { out[0][i] = this.ring[this.r]; this.r = this.r + 1 === cap ? 0 : this.r + 1; }
          this.fill -= k;
          if (k < len) { this.playing = false; this.underruns++; this.low = Infinity; this.since = 0; }
          else {
            this.low = Math.min(this.low, this.fill);
            this.since += len;
            if (this.since >= this.trimEvery) {
              if (this.low > this.target) this.skip(this.low - this.target);
              this.low = Infinity;
              this.since = 0;
            }
          }
        }
        for (let c = 1; c < out.length; c++) out[c].set(out[0]);
        if (++this.quanta % 64 === 0) {
          this.port.postMessage({ fill: this.fill, underruns: this.underruns, dropped: this.dropped });
        }
        return true;
      }
    });`;
  const loaded = new WeakMap(); // AudioContext -> Promise of addModule

  function loadWorklet(ctx) {
    if (!loaded.has(ctx)) {
      const url = URL.createObjectURL(new Blob([WORKLET], { type: 'text/javascript' }));
      loaded.set(ctx, ctx.audioWorklet.addModule(url).finally(() => URL.revokeObjectURL(url)));
    }
    return loaded.get(ctx);
  }

  const ENCODER_CONFIG = {
    codec: 'opus', sampleRate: OPUS_RATE, numberOfChannels: 1, bitrate: OPUS_BITRATE,
    opus: { frameDuration: FRAME_MS * 1000 },
  };
  const DECODER_CONFIG = { codec: 'opus', sampleRate: OPUS_RATE, numberOfChannels: 1 };

  // Which codec this browser can use with `ctx`: Opus when WebCodecs has an
  // Opus encoder (and, for echo, decoder) and the AudioContext runs at
  // 48 kHz (the frames go to the encoder as captured); else PCM16 at the
  // AudioContext's rate. `want` ('opus' | 'pcm16' | null) is the page's
  // ?codec=. Resolves { codec, sampleRate, reason }.
  async function pickCodec(ctx, mode, want) {
    const pcm = (reason) => ({ codec: 'pcm16', sampleRate: ctx.sampleRate, reason });
    if (want === 'pcm16') return pcm('forced');
    if (typeof AudioEncoder === 'undefined' || (mode === 'echo' && typeof AudioDecoder === 'undefined')) {
      return pcm('no-webcodecs');
    }
    if (ctx.sampleRate !== OPUS_RATE) return pcm('rate');
    try {
      const enc = await AudioEncoder.isConfigSupported(ENCODER_CONFIG);
      const dec = mode === 'echo' ? await AudioDecoder.isConfigSupported(DECODER_CONFIG) : { supported: true };
      if (!enc.supported || !dec.supported) return pcm('no-opus');
    } catch {
      return pcm('no-opus');
    }
    return { codec: 'opus', sampleRate: OPUS_RATE, reason: want === 'opus' ? 'forced' : 'webcodecs' };
  }

  // What a close code means, in a line (the contract's codes).
  function closeMeaning(code) {
    switch (code) {
      case 1000: return 'closed normally';
      case 1001: return 'the server is going away';
      case 1003: return 'the server does not take this codec or sample rate';
      case 1006: return 'the connection dropped';
      case 1007: return 'the server rejected a message';
      case 1008: return 'the page did not read what the server sent fast enough';
      case 1009: return 'a message was too big';
      case 1011: return 'the speech engine failed';
      case 1013: return 'the server is busy (no free session or recognizer); try again shortly';
      default: return `code ${code}`;
    }
  }

  // One WebSocket audio session.
  //   opts: { ctx: AudioContext, url: ws(s) URL of /ws/audio, mode, codec,
  //           sampleRate, stream: the microphone MediaStream,
  //           on: { open(), ready(msg), firstAudio(), event(msg), close(info) } }
  // close(info) is called once, when the socket has closed: { code, reason,
  // error (the server's last {"type":"error"} text or null), meaning }.
  class WsAudio {
    constructor(opts) {
      this.ctx = opts.ctx;
      this.url = opts.url;
      this.mode = opts.mode;
      this.codec = opts.codec;
      this.rate = opts.sampleRate;
      this.stream = opts.stream;
      this.on = opts.on;
      this.frame = Math.round(this.rate * FRAME_MS / 1000);
      this.ws = null;
      this.nodes = [];              // WebAudio nodes, disconnected on close
      this.capture = null;          // vg-capture node
      this.player = null;           // vg-player node (echo)
      this.remoteStream = null;     // the echo as a MediaStream (meter, recorder)
      this.encoder = null;
      this.decoder = null;
      this.txTs = 0;                // µs, the encoder's input clock
      this.rxTs = 0;                // µs, the decoder's input clock
      this.pingTimer = null;
      this.stopTimer = null;
      this.serverError = null;
      this.finishing = false;
      this.closed = false;
      this.sentAt = [];             // echo: send time of each message not yet back (in order)
      this.st = {
        packetsSent: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, dropped: 0,
        rttMs: null, echoMs: null, jitterMs: null, playFillMs: null, underruns: 0, playDroppedMs: 0,
      };
    }

    // Opens the socket, sends the configuration, and resolves with the
    // server's "ready" once it came (audio flows from then on); rejects
    // with an Error whose .close holds the close info when the socket
    // closes first.
    async start() {
      await loadWorklet(this.ctx);
      if (this.closed) throw Object.assign(new Error('closed'), { close: { code: 1000, reason: '', error: null } });
      if (this.mode === 'echo') this.setupPlayback();
      if (this.codec === 'opus') this.setupEncoder();
      return new Promise((resolve, reject) => {
        let ready = false;
        const ws = this.ws = new WebSocket(this.url);
        ws.binaryType = 'arraybuffer';
        ws.onopen = () => {
          if (this.on.open) this.on.open();
          ws.send(JSON.stringify({ mode: this.mode, codec: this.codec, sample_rate: this.rate, channels: 1 }));
        };
        ws.onmessage = (ev) => {
          if (typeof ev.data !== 'string') { this.receive(ev.data); return; }
          let msg;
          try { msg = JSON.parse(ev.data); } catch { return; }
          if (msg.type === 'ready' && !ready) {
            ready = true;
            this.startCapture();
            this.pingTimer = setInterval(() => this.ping(), PING_MS);
            this.ping();
            resolve(msg);
          } else if (msg.type === 'pong') {
            if (typeof msg.t === 'number') this.st.rttMs = performance.now() - msg.t;
          } else {
            if (msg.type === 'error') this.serverError = String(msg.text || '');
            if (this.on.event) this.on.event(msg);
          }
        };
        ws.onclose = (ev) => {
          const info = { code: ev.code, reason: ev.reason || '', error: this.serverError, meaning: closeMeaning(ev.code) };
          this.release();
          if (!ready) {
            reject(Object.assign(new Error(`WebSocket closed before the server was ready (${info.meaning})`), { close: info }));
          }
          if (this.on.close) this.on.close(info);
        };
      });
    }

    setupPlayback() {
      const ctx = this.ctx;
      const node = this.player = new AudioWorkletNode(ctx, 'vg-player', {
        numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1],
        processorOptions: {
          capacity: Math.round(ctx.sampleRate * 2),
          target: Math.round(ctx.sampleRate * PLAY_TARGET_MS / 1000),
          max: Math.round(ctx.sampleRate * PLAY_MAX_MS / 1000),
          trimEvery: Math.round(ctx.sampleRate * PLAY_TRIM_S),
        },
      });
      node.port.onmessage = (e) => {
        this.st.playFillMs = e.data.fill * 1000 / ctx.sampleRate;
        this.st.underruns = e.data.underruns;
        this.st.playDroppedMs = e.data.dropped * 1000 / ctx.sampleRate;
      };
      const out = ctx.createMediaStreamDestination();
      node.connect(ctx.destination);
      node.connect(out);
      this.remoteStream = out.stream;
      this.nodes.push(node, out);
      if (this.codec === 'opus') {
        this.decoder = new AudioDecoder({
          output: (ad) => this.play(ad),
          error: (e) => this.fault(`Opus decoder: ${e.message}`),
        });
        this.decoder.configure(DECODER_CONFIG);
      }
    }

    setupEncoder() {
      this.encoder = new AudioEncoder({
        output: (chunk) => {
          const b = new Uint8Array(chunk.byteLength);
          chunk.copyTo(b);
          this.send(b);
        },
        error: (e) => this.fault(`Opus encoder: ${e.message}`),
      });
      this.encoder.configure(ENCODER_CONFIG);
    }

    startCapture() {
      const ctx = this.ctx;
      const src = ctx.createMediaStreamSource(this.stream);
      const node = this.capture = new AudioWorkletNode(ctx, 'vg-capture', {
        numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
        channelCount: 1, channelCountMode: 'explicit',
        processorOptions: { frame: this.frame },
      });
      // A silent sink keeps the node pulled by the graph.
      const sink = ctx.createGain();
      sink.gain.value = 0;
      src.connect(node).connect(sink).connect(ctx.destination);
      this.nodes.push(src, node, sink);
      node.port.onmessage = (e) => this.frameIn(e.data);
    }

    // One captured frame (Float32Array, this.frame samples at this.rate).
    frameIn(f) {
      if (this.finishing || this.closed) return;
      if (this.codec === 'opus') {
        if (!this.encoder || this.encoder.state !== 'configured') return;
        const ad = new AudioData({
          format: 'f32-planar', sampleRate: this.rate, numberOfFrames: f.length,
          numberOfChannels: 1, timestamp: this.txTs, data: f,
        });
        this.txTs += Math.round(f.length * 1e6 / this.rate);
        this.encoder.encode(ad);
        ad.close();
        return;
      }
      // PCM16, little-endian (the wire format), clipped.
      const b = new ArrayBuffer(f.length * 2);
      const v = new DataView(b);
      for (let i = 0; i < f.length; i++) {
        const x = Math.max(-1, Math.min(1, f[i]));
        v.setInt16(2 * i, x < 0 ? x * 32768 : x * 32767, true);
      }
      this.send(new Uint8Array(b));
    }

    // Sends one audio message, unless the socket is already SEND_BACKLOG_S
    // behind (a stalled path): live audio is dropped, not queued.
    send(bytes) {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN || this.finishing) return;
      const perS = this.codec === 'opus' ? OPUS_BITRATE / 8 : this.rate * 2;
      if (ws.bufferedAmount > perS * SEND_BACKLOG_S) { this.st.dropped++; return; }
      ws.send(bytes);
      this.st.packetsSent++;
      this.st.bytesSent += bytes.byteLength;
      if (this.mode === 'echo') {
        if (this.sentAt.length > 500) this.sentAt = []; // the echo is not coming back: stop matching
        this.sentAt.push(performance.now());
      }
    }

    receive(buf) {
      const now = performance.now();
      this.st.packetsReceived++;
      this.st.bytesReceived += buf.byteLength;
      if (this.st.packetsReceived === 1 && this.on.firstAudio) this.on.firstAudio();
      // The echo returns every message in order: the k-th back is the k-th
      // sent. Its delay, and the variation of that delay (RFC 3550 §6.4.1
      // smoothing), are what the page shows as round trip and jitter.
      const sent = this.sentAt.shift();
      if (sent !== undefined) {
        const d = now - sent;
        if (this.st.echoMs !== null) {
          const j = this.st.jitterMs || 0;
          this.st.jitterMs = j + (Math.abs(d - this.st.echoMs) - j) / 16;
        }
        this.st.echoMs = d;
      }
      if (this.mode !== 'echo' || this.finishing) return;
      if (this.codec === 'opus') {
        if (!this.decoder || this.decoder.state !== 'configured') return;
        this.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: this.rxTs, data: buf }));
        this.rxTs += FRAME_MS * 1000;
        return;
      }
      const v = new DataView(buf);
      const f = new Float32Array(buf.byteLength >> 1);
      for (let i = 0; i < f.length; i++) f[i] = v.getInt16(2 * i, true) / 32768;
      this.player.port.postMessage(f, [f.buffer]);
    }

    play(ad) {
      if (!this.player || this.closed) { ad.close(); return; }
      const f = new Float32Array(ad.numberOfFrames);
      try {
        ad.copyTo(f, { planeIndex: 0, format: 'f32-planar' });
      } catch {
        ad.copyTo(f, { planeIndex: 0 }); // a browser that cannot convert: mono f32 is the same layout
      }
      ad.close();
      this.player.port.postMessage(f, [f.buffer]);
    }

    ping() {
      const ws = this.ws;
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping', t: performance.now() }));
    }

    // A codec failed in the browser: the session cannot go on.
    fault(text) {
      this.serverError = this.serverError || text;
      this.close();
    }

    stats() { return { ...this.st }; }

    // Stop: nothing more is captured or sent; the server is told (echo:
    // it closes; transcribe: it sends the last results and "done", then
    // closes). The socket stays open to read those.
    finish() {
      if (this.finishing || this.closed) return;
      this.finishing = true;
      clearInterval(this.pingTimer);
      this.stopCapture();
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) { this.close(); return; } // not open (yet): nothing to finish
      ws.send(JSON.stringify({ type: 'stop' }));
      if (this.mode === 'echo') this.stopTimer = setTimeout(() => this.close(), ECHO_STOP_WAIT_MS);
    }

    // Closes at once (a page leaving, a transcript abandoned), normally
    // (1000: a browser may send only that or 3000-4999).
    close() {
      const ws = this.ws;
      this.release();
      if (ws && ws.readyState <= WebSocket.OPEN) {
        try { ws.close(1000); } catch { /* already closing */ }
      }
    }

    stopCapture() {
      if (this.capture) {
        this.capture.port.postMessage('stop');
        this.capture.port.onmessage = null;
      }
      if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    }

    // Frees the codecs and the audio graph (idempotent).
    release() {
      if (this.closed) return;
      this.closed = true;
      this.finishing = true;
      clearInterval(this.pingTimer);
      clearTimeout(this.stopTimer);
      this.stopCapture();
      if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
      for (const n of this.nodes) { try { n.disconnect(); } catch { /* already */ } }
      this.nodes = [];
    }
  }

  return { WsAudio, pickCodec, closeMeaning, OPUS_RATE, FRAME_MS };
})();
