// voxgate page: a WHIP client (RFC 9725) with a connection timeline, the
// transport in use, level meters and live statistics; in Transcribe mode
// also the live transcript from the session's event stream (a WebSocket at
// <session>/events). Plain script, no framework, no build step, nothing
// loaded from elsewhere.
//
// WebRTC first; where it cannot get through (an HTTP-only proxy, a PaaS
// router that forwards one HTTP port) the page switches by itself to the
// WebSocket audio path, /ws/audio (ws_audio.js): when ICE has not connected
// within the fallback time (X-Voxgate-Fallback-Ms in the WHIP answer,
// default 2 s; ?fallback_ms=N overrides), when ICE fails, or when the offer
// POST fails. The peer connection is closed and the WHIP session DELETEd
// before the WebSocket opens: one session on the server at a time.
// ?transport=ws goes straight to the WebSocket, ?transport=webrtc never
// leaves WebRTC; ?codec=pcm16 sends PCM even where WebCodecs has Opus.
//
// One session at a time. The Start/Stop button flips the page's state
// synchronously on every click, so one click always suffices; the network
// work of an attempt that was stopped finishes in the background (an
// answer that arrives after Stop is DELETEd at once), so a stop can never
// overtake the start it cancels.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);

  // ?raw=1: no browser voice processing at all (the tests compare the
  // echoed audio with the file fed to the fake microphone).
  const RAW = params.get('raw') === '1';
  // ?transport=ws | webrtc: only that transport (default: WebRTC, then the
  // WebSocket when WebRTC does not connect).
  const TRANSPORT = ['ws', 'webrtc'].includes(params.get('transport')) ? params.get('transport') : null;
  // ?codec=opus | pcm16: the WebSocket path's codec (default: Opus where
  // the browser has a WebCodecs Opus encoder, else PCM).
  const CODEC = ['opus', 'pcm16'].includes(params.get('codec')) ? params.get('codec') : null;
  // ?fallback_ms=N: how long ICE may take before the WebSocket takes over;
  // overrides the server's X-Voxgate-Fallback-Ms.
  const FALLBACK_MS_PARAM = /^\d+$/.test(params.get('fallback_ms') || '') ? Number(params.get('fallback_ms')) : null;

  const KEY = {
    mode: 'voxgate.mode',
    aec: 'voxgate.aec',
    token: 'voxgate.token',
  };
  // The Location of this tab's live session, to DELETE after a reload. Per
  // tab (sessionStorage survives a reload, not other tabs), so one tab's
  // reload never ends another tab's session.
  const SESSION_KEY = 'voxgate.session';

  const PHASES = [
    ['mic', 'Microphone ready'],
    ['offer', 'Offer created'],
    ['post', 'Offer sent (POST)'],
    ['answer', 'Answer received'],
    ['ice', 'ICE connected'],
    ['dtls', 'DTLS connected'],
    ['audio', 'First audio back'],
  ];
  // Transcribe mode sends nothing back; its last phase is the event stream
  // (the transcript's channel) being open.
  const PHASES_TRANSCRIBE = [...PHASES.slice(0, -1), ['events', 'Transcript stream open']];
  // On the WebSocket path: what the WebRTC attempt got to, then the switch.
  const PHASES_WS = [
    ['fallback', 'Switched to WebSocket'],
    ['ws', 'WebSocket open'],
    ['ready', 'Server ready'],
  ];
  function phasesOf(mode, s = null) {
    const last = mode === 'transcribe' ? ['events', 'Transcript on the WebSocket'] : PHASES[PHASES.length - 1];
    if (!s || s.via !== 'websocket') return mode === 'transcribe' ? PHASES_TRANSCRIBE : PHASES;
    const tried = PHASES.slice(1, -1).filter(([p]) => s.marks[p] !== undefined);
    return [PHASES[0], ...tried, ...PHASES_WS, last];
  }

  const POST_TIMEOUT_MS = 15000;     // no answer by then: give up
  const SLOW_CONNECT_MS = 8000;      // answer received but no media path yet: say what to try
  const FIRST_AUDIO_POLL_MS = 20;    // getStats cadence until the first packet comes back
  const STATS_INTERVAL_MS = 1000;
  const METER_INTERVAL_MS = 50;
  const PC_CLOSE_WAIT_MS = 1000;     // Stop: close the peer connection once the DELETE is answered, or by then
  const DONE_WAIT_MS = 20000;        // after Stop: how long to wait for the server's "done"
  const EVENTS_RETRY_MS = 1000;      // event stream lost while the session lives: reconnect after
  const EVENTS_RETRIES = 5;
  const SCROLL_STICK_PX = 32;        // the transcript follows new text when scrolled this close to its end
  const FALLBACK_MS_DEFAULT = 2000;  // ICE not connected by then (from the POST): WebSocket; the server's header overrides

  function storage(area) {
    return {
      get(k) { try { return window[area].getItem(k); } catch { return null; } },
      set(k, v) { try { window[area].setItem(k, v); } catch { /* storage disabled */ } },
      del(k) { try { window[area].removeItem(k); } catch { /* storage disabled */ } },
    };
  }
  const store = storage('localStorage');   // settings
  const tabStore = storage('sessionStorage');

  const ui = {
    toggle: $('toggle'), mode: $('mode'), aec: $('aec'), token: $('token'),
    status: $('status'), timeline: $('timeline').tBodies[0],
    transport: $('transport'), why: $('transport-why'),
    micBar: $('mic-bar'), micDb: $('mic-db'), retBar: $('ret-bar'), retDb: $('ret-db'),
    rtt: $('st-rtt'), jitter: $('st-jitter'), lost: $('st-lost'), bitrate: $('st-bitrate'),
    trEngine: $('tr-engine'), trState: $('tr-state'), trBox: $('transcript'),
    finals: $('finals'), partial: $('partial'), copy: $('copy'),
  };

  // ---- page state -------------------------------------------------------

  let state = 'idle';        // idle | starting | connected | failed
  let session = null;        // the current attempt (see Session), null when idle
  let lastSession = null;    // the most recent attempt, kept for its timeline and stats
  let lastError = null;      // { kind, message } of the last failure
  let transcript = null;     // the Transcript on the page (transcribe mode), kept after Stop until the next Start
  let engineInfo = null;     // /healthz "asr": { engine, ready, streams }, null when unknown
  let audioCtx = null;       // one AudioContext for the page, created on the first click
  let seq = 0;
  const waiters = [];        // start() promises waiting for connected/failed

  // The remote track plays through an unmuted element: that is what the
  // person hears, and Chrome feeds remote audio to WebAudio (the return
  // meter) and fills getStats audio levels only while it is played out.
  const remoteAudio = new Audio();
  remoteAudio.autoplay = true;

  class Session {
    constructor(mode) {
      this.id = ++seq;
      this.mode = mode;
      this.cancelled = false;
      this.t0 = performance.now(); // the click
      this.tPost = null;
      this.marks = {};             // phase -> ms from the click
      this.pc = null;
      this.stream = null;          // the microphone
      this.remoteStream = null;
      this.location = null;        // absolute URL of the WHIP session resource
      this.timers = [];
      this.nodes = [];             // WebAudio nodes to disconnect on teardown
      this.transport = null;
      this.stats = null;
      this.prevBytes = null;       // for bitrates
      this.iceState = 'new';
      this.tr = null;              // transcribe mode: the Transcript this session fills
      this.via = 'webrtc';         // the transport: 'webrtc', then 'websocket' after a fallback
      this.rtcTimers = [];         // WebRTC-only timers and nodes, ended by a fallback
      this.rtcNodes = [];
      this.fallbackTimer = null;
      this.rtcGone = null;         // after a fallback: resolves when the WHIP session is DELETEd
      this.wsa = null;             // the WebSocket path (VoxgateWs.WsAudio), owned
      this.why = null;             // the WebSocket path: why it is used (shown)
      this.wsId = null;            // the WebSocket session's id (the server's "ready")
      this.fallbackMs = null;      // the fallback time in force (ms from the POST)
      this.fallbackFrom = null;    // ... and where it came from: 'default' | 'page' | 'server'
      this.fallbackReason = null;  // why the WebSocket is used: { kind, ms?, detail?, error? }
    }
    alive() { return !this.cancelled && session === this; }
    // The WebRTC attempt is still the session's transport.
    rtcAlive() { return this.alive() && this.via === 'webrtc'; }
  }

  // kind: what failed; final: the WebSocket would fail the same way (a
  // token refused, a full server), so no fallback.
  class UserError extends Error {
    constructor(kind, message, final = false) { super(message); this.kind = kind; this.final = final; }
  }

  // Set when a response from the server says it came through a proxy
  // (X-Voxgate-Proxied: 1): mentioned when the WebSocket takes over.
  let proxied = false;
  function noteProxy(res) {
    if (res && res.headers && res.headers.get('X-Voxgate-Proxied') === '1') proxied = true;
  }

  // ---- settings, remembered across reloads ----------------------------------

  function initSettings() {
    const mode = store.get(KEY.mode);
    const opt = mode && [...ui.mode.options].find((o) => o.value === mode && !o.disabled);
    if (opt) ui.mode.value = mode;
    ui.mode.addEventListener('change', () => {
      store.set(KEY.mode, ui.mode.value);
      showMode();
    });
    showMode();

    // Echo cancellation filters the *microphone*: it removes what the
    // speakers play (the echo coming back) from what is sent. With speakers
    // and no cancellation the echo is picked up and sent again, round after
    // round, until it howls; so it is on by default for people. Noise
    // suppression and automatic gain stay off: they would reshape the voice
    // and the levels this page is there to show. With headphones, switch
    // echo cancellation off to hear the microphone unprocessed. ?raw=1
    // (tests) forces all three off.
    const aec = store.get(KEY.aec);
    ui.aec.checked = RAW ? false : aec !== '0';
    if (RAW) {
      ui.aec.disabled = true;
      ui.aec.parentElement.title = 'Off: the page was opened with ?raw=1';
    }
    ui.aec.addEventListener('change', () => store.set(KEY.aec, ui.aec.checked ? '1' : '0'));

    $('token-form').addEventListener('submit', (ev) => ev.preventDefault());
    ui.token.value = store.get(KEY.token) || '';
    ui.token.addEventListener('change', () => {
      const t = ui.token.value.trim();
      if (t) store.set(KEY.token, t); else store.del(KEY.token);
    });
  }

  function authHeaders() {
    const t = ui.token.value.trim();
    return t ? { Authorization: 'Bearer ' + t } : {};
  }

  // ---- the WHIP session resource ----------------------------------------------

  // RFC 9725 §4.3: DELETE on the session URL ends it. keepalive lets the
  // request outlive the page (sendBeacon can only POST).
  function deleteSession(url) {
    return fetch(url, { method: 'DELETE', headers: authHeaders(), keepalive: true })
      .then(() => { if (tabStore.get(SESSION_KEY) === url) tabStore.del(SESSION_KEY); })
      .catch(() => { /* best effort: the server also expires it (consent freshness) */ });
  }

  // A reload or a crashed tab leaves a session on the server; free it now.
  function freePreviousSession() {
    const prev = tabStore.get(SESSION_KEY);
    if (prev) deleteSession(prev);
  }

  // ---- start / stop ---------------------------------------------------------

  function toggle() {
    if (session) stop(); else start().catch(() => { /* shown on the page */ });
  }

  // Starts a session (what a click on Start does). The promise resolves
  // when the media path is connected and rejects when the attempt fails or
  // is stopped.
  function start() {
    if (session && state === 'connected') return Promise.resolve();
    const done = new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    if (session) return done; // already starting
    ensureAudioContext(); // inside the click: audio may play from now on
    const s = new Session(ui.mode.value);
    session = lastSession = s;
    lastError = null;
    resetView();
    // The previous transcript stays on the page until now.
    if (transcript) transcript.abandon();
    transcript = s.tr = s.mode === 'transcribe' ? new Transcript(s) : null;
    renderTranscript();
    if (s.tr) {
      s.tr.status('info', 'Starting…');
      showEngine();
    }
    setState('starting');
    say('info', 'Starting…');
    run(s).catch((e) => { if (s.alive()) fail(s, e); });
    return done;
  }

  // Stops the current session, or cancels one that is still starting.
  // The page is idle again at once; the promise resolves when the server
  // has been told (when it already knew about the session).
  function stop(message = 'Stopped.') {
    const s = session;
    if (!s) return Promise.resolve();
    session = null;
    const p = teardown(s);
    setState('idle');
    say('info', message);
    if (s.tr) s.tr.sessionEnded();
    settle(false, new UserError('stopped', 'stopped'));
    return p;
  }

  function fail(s, e) {
    if (session !== s) return;
    session = null;
    teardown(s);
    const kind = e instanceof UserError ? e.kind : 'error';
    lastError = { kind, message: e.message || String(e) };
    setState('failed');
    say('error', lastError.message);
    if (s.tr) s.tr.sessionEnded();
    settle(false, e);
  }

  function settle(ok, e) {
    for (const w of waiters.splice(0)) ok ? w.resolve() : w.reject(e);
  }

  function teardown(s) {
    s.cancelled = true;
    clearTimeout(s.fallbackTimer);
    for (const t of [...s.timers, ...s.rtcTimers]) clearInterval(t);
    s.timers = [];
    s.rtcTimers = [];
    for (const n of [...s.nodes, ...s.rtcNodes]) { try { n.disconnect(); } catch { /* already */ } }
    s.nodes = [];
    s.rtcNodes = [];
    if (s.stream) s.stream.getTracks().forEach((t) => t.stop()); // nothing more is sent from now
    if (remoteAudio.srcObject === s.remoteStream) remoteAudio.srcObject = null;
    showLevel(ui.micBar, ui.micDb, null);
    showLevel(ui.retBar, ui.retDb, null);
    if (s.via === 'websocket') {
      // The server is told (a "stop" message); in Transcribe mode the
      // socket stays open for the last results, until "done".
      if (s.wsa) s.wsa.finish();
      return Promise.resolve(s.rtcGone);
    }
    // The event stream (transcribe) stays open: the results of the last
    // utterance arrive after the session ends, until the server's "done".
    // The POST may still be in flight: run() DELETEs its answer when it lands.
    const closePc = () => { if (s.pc) s.pc.close(); };
    if (!s.location) {
      closePc();
      return Promise.resolve();
    }
    // The DELETE ends the session (RFC 9725 §4.3); the peer connection
    // closes when it has been answered (or after PC_CLOSE_WAIT_MS). Closed
    // first, its DTLS close_notify would overtake the HTTP request: the
    // server would end the session on that and answer the DELETE with 404.
    const timer = setTimeout(closePc, PC_CLOSE_WAIT_MS);
    return deleteSession(s.location).finally(() => { clearTimeout(timer); closePc(); });
  }

  async function run(s) {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new UserError('insecure', insecureMessage());
    }
    const constraints = {
      audio: {
        echoCancellation: !RAW && ui.aec.checked,
        noiseSuppression: false,
        autoGainControl: false,
        channelCount: 1,
      },
      video: false,
    };
    try {
      s.stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (e) {
      throw micError(e);
    }
    if (!s.alive()) { s.stream.getTracks().forEach((t) => t.stop()); return; }
    mark(s, 'mic');
    meter(s, s.stream, ui.micBar, ui.micDb, 'mic');

    if (TRANSPORT === 'ws') {
      await useWebSocket(s, { kind: 'forced' });
      return;
    }
    try {
      await runWebRtc(s);
    } catch (e) {
      // Stopped, or the WebSocket took over: this attempt's errors no
      // longer matter.
      if (!s.rtcAlive()) return;
      if (e instanceof UserError && e.final) throw e;
      const post = e instanceof UserError && (e.kind === 'network' || e.kind === 'server');
      fallBack(s, { kind: post ? 'post' : 'error', detail: e.brief || e.message || String(e), error: e });
    }
  }

  async function runWebRtc(s) {
    // No ICE servers: the server is ICE-lite with host candidates on its
    // one UDP and one TCP port; the browser's checks teach it our address.
    let pc;
    try {
      pc = s.pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    } catch (e) {
      throw new UserError('webrtc', `WebRTC is not available in this browser (${e.message || e.name})`);
    }
    // Transcribe mode only sends (the server returns text, not audio), as a
    // WHIP client does (RFC 9725 §4.2); echo sends and receives.
    const direction = s.mode === 'transcribe' ? 'sendonly' : 'sendrecv';
    pc.addTransceiver(s.stream.getAudioTracks()[0], { direction, streams: [s.stream] });
    pc.ontrack = (ev) => onTrack(s, ev);
    pc.oniceconnectionstatechange = () => onIceState(s);
    pc.onconnectionstatechange = () => onConnState(s);

    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (!s.rtcAlive()) return;
    mark(s, 'offer');

    // POST at once, without waiting for ICE gathering: the answer carries
    // the server's candidates and end-of-candidates, and an ICE-lite server
    // learns ours from the connectivity checks.
    const url = new URL('/whip?mode=' + encodeURIComponent(s.mode), location.href).href;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), POST_TIMEOUT_MS);
    s.tPost = performance.now();
    mark(s, 'post');
    // ICE gets the fallback time from now (the POST may be what hangs).
    if (FALLBACK_MS_PARAM === null) armFallback(s, FALLBACK_MS_DEFAULT, 'default');
    else armFallback(s, FALLBACK_MS_PARAM, 'page');
    let res, body;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...authHeaders() },
        body: pc.localDescription.sdp,
        signal: ctl.signal,
      });
      body = await res.text();
    } catch (e) {
      if (!s.rtcAlive()) return;
      const err = new UserError('network', ctl.signal.aborted
        ? `The server did not answer the offer within ${POST_TIMEOUT_MS / 1000} s (${url}).`
        : `Could not reach the server at ${new URL(url).host}: is voxgate running, and is this the right address?`);
      err.brief = ctl.signal.aborted ? `no answer within ${POST_TIMEOUT_MS / 1000} s` : 'the request did not get through';
      throw err;
    } finally {
      clearTimeout(timer);
    }
    noteProxy(res);
    const loc = res.ok && res.headers.get('Location');
    const sessionUrl = loc ? new URL(loc, url).href : null;
    if (!s.rtcAlive()) {
      // Stopped (or switched to the WebSocket) while the offer was on its
      // way: free what the server made.
      if (sessionUrl) deleteSession(sessionUrl);
      return;
    }
    if (!res.ok) throw serverError(res, body);
    if (!sessionUrl) throw new UserError('server', 'The server answered without a Location header; cannot manage the session.');
    s.location = sessionUrl;
    tabStore.set(SESSION_KEY, sessionUrl);
    mark(s, 'answer');
    // The server's fallback time (--ws-fallback-ms), unless the page
    // address set one; still counted from the POST.
    const serverMs = Number.parseInt(res.headers.get('X-Voxgate-Fallback-Ms') || '', 10);
    if (FALLBACK_MS_PARAM === null && Number.isFinite(serverMs) && serverMs >= 0) armFallback(s, serverMs, 'server');

    // The transcript's event stream opens as soon as the session exists, so
    // no state change or early result is missed.
    if (s.tr) s.tr.open();
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    if (!s.rtcAlive()) return;
    say('info', 'Connecting…');
    if (s.mode === 'echo') pollFirstAudio(s);
    s.rtcTimers.push(setTimeout(() => {
      if (s.rtcAlive() && state === 'starting') say('warn', slowMessage(s));
    }, SLOW_CONNECT_MS));
  }

  // ---- the fallback to the WebSocket path ---------------------------------------

  // (Re)arms the fallback: when ICE has not connected `ms` after the POST,
  // the WebSocket takes over. `from`: where the time comes from ('default',
  // 'page' for ?fallback_ms=, 'server' for X-Voxgate-Fallback-Ms). Never
  // with ?transport=webrtc.
  function armFallback(s, ms, from) {
    if (TRANSPORT === 'webrtc') return;
    clearTimeout(s.fallbackTimer);
    s.fallbackMs = ms;
    s.fallbackFrom = from;
    s.fallbackTimer = setTimeout(() => {
      if (s.rtcAlive() && s.marks.ice === undefined) fallBack(s, { kind: 'timeout', ms });
    }, Math.max(0, s.tPost + ms - performance.now()));
  }

  // WebRTC did not get through (reason: { kind: 'timeout'|'ice'|'dtls'|
  // 'post'|'error', ms?, detail?, error? }): switch to the WebSocket, or
  // with ?transport=webrtc fail with reason.error.
  function fallBack(s, reason) {
    if (!s.rtcAlive()) return;
    if (TRANSPORT === 'webrtc') {
      fail(s, reason.error || new UserError('ice', iceFailedMessage()));
      return;
    }
    endWebRtc(s);
    useWebSocket(s, reason).catch((e) => { if (s.alive()) fail(s, e); });
  }

  // The hand-over: the WebRTC attempt ends as a Stop ends it (the DELETE,
  // then the peer connection closes) and the session forgets it.
  // s.rtcGone resolves once the server has answered the DELETE (or after
  // PC_CLOSE_WAIT_MS), so the WebSocket session never overlaps it.
  function endWebRtc(s) {
    s.via = 'websocket';
    clearTimeout(s.fallbackTimer);
    s.rtcTimers.forEach(clearInterval);
    s.rtcTimers = [];
    for (const n of s.rtcNodes) { try { n.disconnect(); } catch { /* already */ } }
    s.rtcNodes = [];
    if (s.remoteStream && remoteAudio.srcObject === s.remoteStream) remoteAudio.srcObject = null;
    s.remoteStream = null;
    showLevel(ui.retBar, ui.retDb, null);
    s.transport = null;
    s.stats = null;
    s.prevBytes = null;
    if (s.tr) s.tr.detach();
    delete s.marks.events; // that was the WHIP session's event stream; the WebSocket carries the transcript now
    const pc = s.pc, loc = s.location;
    s.pc = null;
    s.location = null;
    const closePc = () => { if (pc) pc.close(); };
    if (!loc) {
      closePc();
      s.rtcGone = Promise.resolve();
      return;
    }
    s.rtcGone = new Promise((resolve) => {
      const timer = setTimeout(() => { closePc(); resolve(); }, PC_CLOSE_WAIT_MS);
      deleteSession(loc).finally(() => { clearTimeout(timer); closePc(); resolve(); });
    });
  }

  function wsUrl(path) {
    const u = new URL(path, location.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    const t = ui.token.value.trim();
    if (t) u.searchParams.set('token', t); // a browser WebSocket cannot send Authorization
    return u.href;
  }

  async function useWebSocket(s, reason) {
    s.via = 'websocket';
    s.fallbackReason = reason;
    mark(s, 'fallback');
    say('info', reason.kind === 'forced' ? 'Connecting over the WebSocket…'
      : 'WebRTC did not connect; switching to the WebSocket path…');
    if (s.rtcGone) await s.rtcGone;
    if (!s.alive()) return;
    const ctx = audioCtx;
    if (!window.VoxgateWs || typeof WebSocket === 'undefined' || !ctx || !ctx.audioWorklet) {
      throw new UserError('ws', 'WebRTC did not connect, and this browser lacks what the WebSocket path needs ' +
        '(Web Audio with AudioWorklet). Try a current Chrome, Edge, Firefox or Safari.');
    }
    const pick = await VoxgateWs.pickCodec(ctx, s.mode, CODEC);
    if (!s.alive()) return;
    const url = wsUrl('/ws/audio');
    const shownUrl = new URL(url);
    shownUrl.search = '';
    s.why = wsWhy(reason, pick);
    s.transport = {
      label: `WebSocket (${pick.codec === 'opus' ? 'Opus' : 'PCM'})`,
      protocol: 'websocket', codec: pick.codec, sampleRate: pick.sampleRate, url: shownUrl.href,
      reason: reason.kind, codecReason: pick.reason, fallbackMs: s.fallbackMs, fallbackFrom: s.fallbackFrom,
      proxied, why: s.why,
    };
    showWsTransport(s);
    const wsa = s.wsa = new VoxgateWs.WsAudio({
      ctx, url, mode: s.mode, codec: pick.codec, sampleRate: pick.sampleRate, stream: s.stream,
      on: {
        open: () => { if (s.alive()) mark(s, 'ws'); },
        firstAudio: () => { if (s.alive()) mark(s, 'audio'); },
        event: (msg) => { if (s.tr) s.tr.onEvent(msg); },
        close: (info) => onWsClose(s, info),
      },
    });
    if (s.tr) s.tr.attach(wsa);
    let ready;
    try {
      ready = await wsa.start();
    } catch (e) {
      if (!s.alive()) return;
      throw e.close ? wsError(e.close, s) : new UserError('ws', `The WebSocket audio path failed: ${e.message || e}`);
    }
    if (!s.alive()) return;
    s.wsId = ready.id || null;
    mark(s, 'ready');
    if (s.tr) {
      mark(s, 'events');
      s.tr.socketReady();
    }
    if (s.mode === 'echo' && wsa.remoteStream) {
      s.remoteStream = wsa.remoteStream;
      meter(s, s.remoteStream, ui.retBar, ui.retDb, 'ret');
    }
    setState('connected');
    say('ok', connectedMessage(s));
    s.timers.push(setInterval(() => updateWsStats(s), STATS_INTERVAL_MS));
    settle(true);
  }

  function onWsClose(s, info) {
    if (s.tr) s.tr.socketClosed(info);
    if (s.alive()) fail(s, wsError(info, s));
  }

  function wsError(info, s) {
    const said = info.error || info.reason;
    if (info.code === 1006 && s.marks.ws === undefined) {
      // Neither the offer nor the WebSocket got through: the server is
      // not there, as the POST's own error says.
      const r = s.fallbackReason;
      if (r && r.kind === 'post' && r.error && r.error.kind === 'network') return r.error;
      return new UserError('ws', 'WebRTC did not connect, and the WebSocket to the server could not be opened either ' +
        `(${location.host}/ws/audio). A proxy on the way must pass WebSocket upgrades (the Upgrade and Connection ` +
        'headers; see the README); with --token, check the access token.');
    }
    if (info.code === 1013) {
      return new UserError('server', `The server is busy${said ? ` (${said})` : ''}: try again shortly.`, true);
    }
    return new UserError('closed', `The WebSocket audio path ended (${info.code}: ${info.meaning})` +
      (said ? `: ${said}.` : '.'));
  }

  const secs = (ms) => `${+(ms / 1000).toFixed(2)} s`;

  // The transport's "why" on the WebSocket path.
  function wsWhy(reason, pick) {
    const proxy = proxied ? ' (the page came through a proxy, which passes HTTP and WebSocket but not WebRTC\'s media)' : '';
    let why;
    switch (reason.kind) {
      case 'forced': why = 'The page address asks for the WebSocket (?transport=ws)' + proxy + '.'; break;
      case 'timeout': why = `ICE did not connect within ${secs(reason.ms)}${proxy}`; break;
      case 'ice': why = `ICE failed: no UDP or TCP media path to the server${proxy}`; break;
      case 'dtls': why = 'The media path was found but its secure handshake (DTLS) failed'; break;
      case 'post': why = `The WebRTC offer failed (${reason.detail.replace(/\.$/, '')})${proxy}`; break;
      default: why = `WebRTC did not work here (${reason.detail.replace(/\.$/, '')})`; break;
    }
    if (reason.kind !== 'forced') why += ', so the audio goes over a WebSocket on the page\'s own HTTP connection.';
    const rate = `${+(pick.sampleRate / 1000).toFixed(1)} kHz`;
    switch (pick.reason) {
      case 'webcodecs': why += ' Opus, encoded in the browser (WebCodecs), 20 ms frames.'; break;
      case 'forced': why += pick.codec === 'opus' ? ' Opus (?codec=opus).' : ` 16-bit PCM at ${rate} (?codec=pcm16).`; break;
      case 'rate': why += ` 16-bit PCM at ${rate}: the audio device runs at that rate, not Opus's 48 kHz.`; break;
      default: why += ` 16-bit PCM at ${rate}: this browser has no WebCodecs Opus encoder.`; break;
    }
    return why + ' Over TCP a lost packet delays the audio instead of dropping it; where UDP to the server is ' +
      'open, WebRTC has the lower delay.';
  }

  function showWsTransport(s) {
    const t = s.transport;
    ui.transport.textContent = `${t.label} — ${t.url}, ${+(t.sampleRate / 1000).toFixed(1)} kHz mono`;
    ui.why.textContent = s.why;
  }

  function updateWsStats(s) {
    if (!s.alive() || !s.wsa) return;
    const w = s.wsa.stats();
    const now = performance.now();
    const st = {
      rttWsMs: w.rttMs, echoMs: w.echoMs, jitterMs: w.jitterMs,
      packetsSent: w.packetsSent, packetsReceived: w.packetsReceived, dropped: w.dropped,
      playBufferMs: w.playFillMs, underruns: w.underruns, playDroppedMs: w.playDroppedMs,
      rttRtcpMs: null, rttIceMs: null, packetsLost: null, lostAtServer: null,
      bitrateOutKbps: null, bitrateInKbps: null,
    };
    const bytes = { t: now, out: w.bytesSent, in: w.bytesReceived };
    if (s.prevBytes) {
      const dt = (bytes.t - s.prevBytes.t) / 1000;
      if (dt > 0) {
        st.bitrateOutKbps = (bytes.out - s.prevBytes.out) * 8 / dt / 1000;
        st.bitrateInKbps = (bytes.in - s.prevBytes.in) * 8 / dt / 1000;
      }
    }
    s.prevBytes = bytes;
    s.stats = st;
    const rtt = [];
    if (st.rttWsMs !== null) rtt.push(`${ms(st.rttWsMs)} (WebSocket ping)`);
    if (st.echoMs !== null && s.mode === 'echo') rtt.push(`${ms(st.echoMs)} (echo)`);
    ui.rtt.textContent = rtt.join(' · ') || '–';
    ui.jitter.textContent = st.jitterMs === null ? '–' : ms(st.jitterMs);
    ui.lost.textContent = st.dropped ? `${st.dropped} frames dropped going out (the socket backed up)` : 'none (TCP retransmits)';
    ui.bitrate.textContent = st.bitrateOutKbps === null ? '–'
      : `${fmt(st.bitrateOutKbps, 0)} / ${fmt(st.bitrateInKbps, 0)} kbit/s`;
  }

  // ---- peer connection events -------------------------------------------------

  function onIceState(s) {
    if (!s.rtcAlive()) return;
    const st = s.pc.iceConnectionState;
    s.iceState = st;
    if ((st === 'connected' || st === 'completed') && !s.marks.ice) {
      mark(s, 'ice');
      clearTimeout(s.fallbackTimer); // WebRTC got through: it stays
    }
    if (st === 'disconnected' && state === 'connected') {
      say('warn', 'Connection interrupted: nothing has come from the server for a few seconds. Waiting for it to recover…');
    } else if (st === 'connected' && state === 'connected') {
      say('ok', connectedMessage(s));
    }
  }

  function onConnState(s) {
    if (!s.rtcAlive()) return;
    const st = s.pc.connectionState;
    if (st === 'connected' && !s.marks.dtls) {
      mark(s, 'dtls');
      clearTimeout(s.fallbackTimer);
      setState('connected');
      say('ok', connectedMessage(s));
      s.rtcTimers.push(setInterval(() => updateStats(s), STATS_INTERVAL_MS));
      updateStats(s);
      settle(true);
    } else if (st === 'failed') {
      const kind = s.marks.ice ? 'dtls' : 'ice';
      const error = new UserError(kind, s.marks.ice
        ? 'The media path was found but the secure handshake (DTLS) failed. The server log says why; reloading and trying again may help.'
        : iceFailedMessage());
      // Before the first connection the WebSocket can still carry the
      // session; after it, a failure is a failure.
      if (state === 'starting') fallBack(s, { kind, error }); else fail(s, error);
    } else if (st === 'closed' && state === 'connected') {
      fail(s, new UserError('closed', 'The server ended the session.'));
    }
  }

  function onTrack(s, ev) {
    if (!s.rtcAlive() || ev.track.kind !== 'audio') return;
    s.remoteStream = ev.streams[0] || new MediaStream([ev.track]);
    remoteAudio.srcObject = s.remoteStream;
    remoteAudio.play().catch(() => { /* autoplay refused: the meters and stats still work */ });
    // A remote track starts muted and unmutes when its first packet arrives
    // (W3C webrtc-pc, "receiving RTP"): the exact moment audio came back.
    ev.track.addEventListener('unmute', () => {
      if (!s.rtcAlive()) return;
      s.marks.unmute = performance.now() - s.t0;
      mark(s, 'audio');
    }, { once: true });
    meter(s, s.remoteStream, ui.retBar, ui.retDb, 'ret', true);
  }

  // First audio back, the other witness: getStats' inbound packet count,
  // for a browser whose remote track never reports muted. Chrome caches
  // getStats results for about 50 ms, so this one lags the unmute event by
  // up to that; the timeline takes whichever comes first.
  function pollFirstAudio(s) {
    const id = setInterval(async () => {
      if (!s.rtcAlive() || s.marks.stats !== undefined) { clearInterval(id); return; }
      let rep;
      try { rep = await s.pc.getStats(); } catch { return; }
      for (const r of rep.values()) {
        if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.packetsReceived > 0 && s.marks.stats === undefined) {
          s.marks.stats = performance.now() - s.t0;
          mark(s, 'audio');
          clearInterval(id);
        }
      }
    }, FIRST_AUDIO_POLL_MS);
    s.rtcTimers.push(id);
  }

  // ---- statistics ---------------------------------------------------------------

  async function updateStats(s) {
    if (!s.rtcAlive()) return;
    let rep;
    try { rep = await s.pc.getStats(); } catch { return; }
    if (!s.rtcAlive()) return;
    const byId = new Map([...rep.values()].map((r) => [r.id, r]));
    let inb = null, out = null, rinb = null, transport = null, pair = null;
    for (const r of rep.values()) {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') inb = r;
      else if (r.type === 'outbound-rtp' && r.kind === 'audio') out = r;
      else if (r.type === 'remote-inbound-rtp' && r.kind === 'audio') rinb = r;
      else if (r.type === 'transport') transport = r;
    }
    if (transport && transport.selectedCandidatePairId) pair = byId.get(transport.selectedCandidatePairId);
    if (!pair) {
      for (const r of rep.values()) {
        if (r.type === 'candidate-pair' && (r.selected || (r.nominated && r.state === 'succeeded'))) { pair = r; break; }
      }
    }
    if (pair) showTransport(s, pair, byId.get(pair.localCandidateId), byId.get(pair.remoteCandidateId), transport);

    const now = performance.now();
    const st = {
      rttRtcpMs: rinb && rinb.roundTripTime !== undefined ? rinb.roundTripTime * 1000 : null,
      rttIceMs: pair && pair.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
      jitterMs: inb && inb.jitter !== undefined ? inb.jitter * 1000 : null,
      packetsLost: inb ? inb.packetsLost : null,
      packetsReceived: inb ? inb.packetsReceived : 0,
      packetsSent: out ? out.packetsSent : 0,
      lostAtServer: rinb ? rinb.packetsLost : null,
      bitrateOutKbps: null,
      bitrateInKbps: null,
      audioLevel: inb && inb.audioLevel !== undefined ? inb.audioLevel : null,
    };
    const bytes = { t: now, out: out ? out.bytesSent : 0, in: inb ? inb.bytesReceived : 0 };
    if (s.prevBytes) {
      const dt = (bytes.t - s.prevBytes.t) / 1000;
      if (dt > 0) {
        st.bitrateOutKbps = (bytes.out - s.prevBytes.out) * 8 / dt / 1000;
        st.bitrateInKbps = (bytes.in - s.prevBytes.in) * 8 / dt / 1000;
      }
    }
    s.prevBytes = bytes;
    s.stats = st;

    const rtt = [];
    if (st.rttRtcpMs !== null) rtt.push(`${ms(st.rttRtcpMs)} (RTCP)`);
    if (st.rttIceMs !== null) rtt.push(`${ms(st.rttIceMs)} (ICE)`);
    ui.rtt.textContent = rtt.join(' · ') || '–';
    ui.jitter.textContent = st.jitterMs === null ? '–' : ms(st.jitterMs);
    if (s.mode === 'transcribe') { // nothing comes back: what the server reports losing
      ui.lost.textContent = st.lostAtServer === null ? '–' : `${st.lostAtServer} going out`;
    } else {
      ui.lost.textContent = st.packetsLost === null ? '–'
        : `${st.packetsLost} coming back` + (st.lostAtServer !== null ? ` · ${st.lostAtServer} going out` : '');
    }
    ui.bitrate.textContent = st.bitrateOutKbps === null ? '–'
      : `${fmt(st.bitrateOutKbps, 0)} / ${fmt(st.bitrateInKbps, 0)} kbit/s`;
  }

  function showTransport(s, pair, local, remote, transport) {
    if (!local || !remote) return;
    const proto = (local.protocol || '').toLowerCase();
    let label, why;
    if (local.candidateType === 'relay') {
      label = `TURN relay (${(local.relayProtocol || proto).toUpperCase()})`;
      why = 'Media goes through a TURN relay: no direct path to the server was found.';
    } else if (proto === 'tcp') {
      label = 'TCP (ICE-TCP)';
      why = 'UDP did not get through, so media rides the server\'s TCP port (ICE-TCP, RFC 6544). ' +
            'It works where only TCP is allowed; delay grows when packets are lost. Open the UDP port for the best path.';
    } else {
      label = 'UDP';
      why = 'Direct UDP to the server\'s media port: the lowest-delay path.';
    }
    // The browser hides its own address (an mDNS name, or nothing) from a
    // page that has no lasting microphone permission.
    const addr = (c) => `${c.address || c.ip || '(address hidden)'}:${c.port}`;
    const t = {
      label,
      protocol: proto,
      localType: local.candidateType,
      remoteType: remote.candidateType,
      local: addr(local),
      remote: addr(remote),
      tcpType: local.tcpType || null,
      dtlsCipher: transport ? transport.dtlsCipher || null : null,
      srtpCipher: transport ? transport.srtpCipher || null : null,
    };
    s.transport = t;
    ui.transport.textContent = `${label} — browser ${t.local} (${t.localType}) → server ${t.remote} (${t.remoteType})`;
    ui.why.textContent = why + (t.srtpCipher ? ` Encrypted with ${t.srtpCipher}.` : '');
  }

  // ---- level meters -------------------------------------------------------------

  // At 48 kHz where the browser allows it: Opus's rate, so the WebSocket
  // path hands the microphone's frames to the encoder as they are.
  function ensureAudioContext() {
    if (!audioCtx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (AC) {
        try { audioCtx = new AC({ sampleRate: 48000, latencyHint: 'interactive' }); } catch { audioCtx = new AC(); }
      }
    }
    if (audioCtx && audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
    return audioCtx;
  }

  const levels = { mic: null, ret: null }; // dBFS, for the test hook

  // rtc: the meter belongs to the WebRTC attempt (a fallback ends it).
  function meter(s, stream, bar, label, which, rtc = false) {
    const ctx = audioCtx;
    if (!ctx) return;
    const src = ctx.createMediaStreamSource(stream);
    const an = ctx.createAnalyser();
    an.fftSize = 1024;
    src.connect(an);
    (rtc ? s.rtcNodes : s.nodes).push(src, an);
    const buf = new Float32Array(an.fftSize);
    (rtc ? s.rtcTimers : s.timers).push(setInterval(() => {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      const db = 10 * Math.log10(sum / buf.length + 1e-12);
      levels[which] = db;
      showLevel(bar, label, db);
    }, METER_INTERVAL_MS));
  }

  function showLevel(bar, label, db) {
    if (db === null) {
      bar.style.width = '0%';
      label.textContent = '–';
      return;
    }
    const pct = Math.max(0, Math.min(100, (db + 60) / 60 * 100));
    bar.style.width = pct.toFixed(0) + '%';
    label.textContent = db < -90 ? 'silent' : `${db.toFixed(0)} dB`;
  }

  // ---- remote audio tap (tests record the echo through this) ----------------

  const TAP_WORKLET = `
    registerProcessor('vg-tap', class extends AudioWorkletProcessor {
      process(inputs) {
        const ch = inputs[0] && inputs[0][0];
        if (ch) this.port.postMessage(ch.slice(0));
        return true;
      }
    });`;
  let tapLoaded = null;

  // Records `seconds` of the audio coming back from the server, as played
  // (mono, the AudioContext's rate). Resolves { sampleRate, samples }.
  async function tapRemote(seconds) {
    const s = session;
    if (!s || !s.remoteStream || !audioCtx) throw new Error('no remote audio to record');
    if (!tapLoaded) {
      const url = URL.createObjectURL(new Blob([TAP_WORKLET], { type: 'text/javascript' }));
      tapLoaded = audioCtx.audioWorklet.addModule(url);
    }
    await tapLoaded;
    const want = Math.round(seconds * audioCtx.sampleRate);
    const src = audioCtx.createMediaStreamSource(s.remoteStream);
    const node = new AudioWorkletNode(audioCtx, 'vg-tap');
    const sink = audioCtx.createGain();
    sink.gain.value = 0; // keeps the node pulled without playing it twice
    src.connect(node).connect(sink).connect(audioCtx.destination);
    const chunks = [];
    let have = 0;
    await new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('remote audio stalled')), seconds * 1000 + 5000);
      node.port.onmessage = (ev) => {
        chunks.push(ev.data);
        have += ev.data.length;
        if (have >= want) { clearTimeout(guard); resolve(); }
      };
    });
    node.port.onmessage = null;
    src.disconnect(); node.disconnect(); sink.disconnect();
    const out = new Float32Array(have);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return { sampleRate: audioCtx.sampleRate, samples: Array.from(out.subarray(0, want)) };
  }

  // ---- transcribe mode: the live transcript ---------------------------------------

  // One session's transcript, filled from the session's event stream
  // (GET <session>/events, a WebSocket of JSON text messages):
  //   {"type":"state","state":"ice-connected"|"connected"|"closed","reason"?}
  //   {"type":"partial","text","start"}        replaces the previous partial
  //   {"type":"final","text","start","end","latency_ms"}   one per utterance
  //   {"type":"error","text"}                  the engine failed for this session
  //   {"type":"lag","text","dropped_s"}        the engine fell behind; audio dropped
  //   {"type":"done"}                          every result sent; the server closes
  // It outlives its session: the last utterance's final comes after Stop,
  // so it listens until "done" (at most DONE_WAIT_MS), and stays on the
  // page until the next Start.
  class Transcript {
    constructor(s) {
      this.s = s;
      this.finals = [];         // { text, start, end, latency_ms, shown_at }, in stream order
      this.keys = new Set();    // of each final, to drop repeats after a reconnect
      this.partial = '';
      this.partialsSeen = 0;    // non-empty partials received
      this.firstPartialAt = null;
      this.firstFinalAt = null;
      this.notices = [];        // { kind: 'error'|'lag', text, at }
      this.serverState = null;  // the last state event: { state, reason }
      this.done = false;        // the server said every result was sent
      this.ws = null;           // the WHIP session's event WebSocket (<session>/events)
      this.ext = null;          // or, on the WebSocket path, the audio socket (VoxgateWs.WsAudio) that carries the events
      this.stream = 'idle';     // the event stream: idle | connecting | open | closed | done
      this.retries = 0;
      this.ended = false;       // the session ended (Stop, failure): waiting for "done"
      this.abandoned = false;   // a newer Start replaced it
      this.doneTimer = null;
      this.statusLine = null;   // { kind, text } shown above the transcript
    }

    at() { return performance.now() - this.s.t0; }
    shown() { return transcript === this && !this.abandoned; }

    url() {
      const u = new URL(this.s.location + '/events');
      u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
      const t = ui.token.value.trim();
      if (t) u.searchParams.set('token', t); // a browser WebSocket cannot send Authorization
      return u.href;
    }

    // The WebRTC attempt gave way to the WebSocket: its event stream ends
    // quietly (the DELETE that follows would close it), and the transcript
    // waits for the audio socket.
    detach() {
      if (this.ws) { const ws = this.ws; this.ws = null; ws.close(1000); }
      this.stream = 'idle';
      this.serverState = null;
      this.retries = 0;
    }

    // On the WebSocket path the events come on the audio socket itself.
    attach(wsa) {
      this.ext = wsa;
      this.stream = 'connecting';
    }

    socketReady() {
      if (this.ext === null || this.done) return;
      this.stream = 'open';
      this.status('ok', `Listening${engineInfo ? ` (${engineInfo.engine})` : ''}: speak, and the words appear below.`);
    }

    // The audio socket closed (after "done", or not).
    socketClosed(info) {
      this.ext = null;
      if (this.done || this.abandoned) return;
      const wasReady = this.stream !== 'connecting';
      this.stream = 'closed';
      clearTimeout(this.doneTimer);
      this.doneTimer = null;
      if (!wasReady && this.ended) {
        this.status('info', 'Stopped before the session started: nothing to transcribe.');
        return;
      }
      const why = info.error ? `: ${info.error}` : '';
      this.status('warn', this.ended
        ? `The WebSocket closed (code ${info.code}) before the server said the transcript was complete${why}: the last results may be missing.`
        : `The WebSocket closed (code ${info.code}, ${info.meaning})${why}: no live results. Stop and Start again.`);
    }

    closeStreams() {
      if (this.ws) { const ws = this.ws; this.ws = null; ws.close(1000); }
      if (this.ext) { const ext = this.ext; this.ext = null; ext.close(); }
    }

    open() {
      if (this.abandoned || this.done) return;
      let ws;
      try {
        ws = new WebSocket(this.url());
      } catch (e) {
        this.stream = 'closed';
        this.status('error', `Could not open the transcript stream: ${e.message}`);
        return;
      }
      this.ws = ws;
      this.stream = 'connecting';
      ws.onopen = () => {
        if (this.ws !== ws) return;
        this.stream = 'open';
        if (this.shown()) mark(this.s, 'events');
        if (this.retries > 0) {
          this.status('info', 'Transcript stream reconnected.');
          this.resync();
        } else if (!this.serverState) {
          this.status('info', 'Transcript stream open; waiting for the audio path…');
        }
      };
      ws.onmessage = (ev) => { if (this.ws === ws) this.onEvent(ev.data); };
      ws.onclose = (ev) => this.onClose(ws, ev);
    }

    onClose(ws, ev) {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.done || this.abandoned) return;
      // The session lives (or its last results are due): reconnect, then
      // fetch the transcript so far to fill what was missed.
      if ((this.s.alive() || (this.ended && this.doneTimer)) && this.retries < EVENTS_RETRIES) {
        this.retries++;
        this.stream = 'connecting';
        this.status('warn', `Transcript stream lost (WebSocket code ${ev.code}); reconnecting…`);
        setTimeout(() => this.open(), EVENTS_RETRY_MS);
        return;
      }
      this.stream = 'closed';
      clearTimeout(this.doneTimer);
      this.doneTimer = null;
      this.status('warn', this.ended
        ? `The transcript stream closed (code ${ev.code}) before the server said it was complete: the last results may be missing.`
        : `The transcript stream closed (code ${ev.code}): no live results. Stop and Start again.`);
    }

    // After a reconnect: the whole transcript so far, from the server.
    async resync() {
      try {
        const r = await fetch(this.s.location + '/transcript', { headers: authHeaders() });
        if (!r.ok) return;
        const j = await r.json();
        for (const f of j.finals || []) this.addFinal(f);
      } catch { /* the live events carry on */ }
    }

    // One event: the JSON text from the event stream, or the parsed object
    // from the audio socket.
    onEvent(data) {
      let ev = data;
      if (typeof data === 'string') {
        try { ev = JSON.parse(data); } catch { return; }
      }
      if (!ev || typeof ev !== 'object') return;
      switch (ev.type) {
        case 'state': this.onState(ev); break;
        case 'partial': this.setPartial(String(ev.text || '')); break;
        case 'final': this.addFinal(ev); break;
        case 'error': {
          const text = `Speech recognition failed: ${ev.text || 'the engine stopped'}.`;
          this.notice('error', text);
          this.status('error', text);
          if (this.s.alive()) say('error', text + ' The audio still reaches the server, but nothing more will be transcribed: Stop and Start again.');
          break;
        }
        case 'lag': {
          const secs = Number(ev.dropped_s);
          const text = 'The recognizer fell behind' + (Number.isFinite(secs) ? `: ${secs.toFixed(1)} s of audio was dropped` : '') +
            (ev.text ? ` (${ev.text})` : '') + '.';
          this.notice('lag', text);
          this.status('warn', text);
          break;
        }
        case 'done':
          this.done = true;
          this.stream = 'done';
          clearTimeout(this.doneTimer);
          this.doneTimer = null;
          this.setPartial('');
          const n = this.finals.filter((f) => f.text).length;
          this.status('ok', `Transcript complete: ${n} ${n === 1 ? 'sentence' : 'sentences'}.`);
          if (this.ws) this.ws.close(1000);
          break;
        default: break; // newer servers may say more
      }
    }

    onState(ev) {
      this.serverState = { state: ev.state, reason: ev.reason || null };
      const why = ev.reason ? ` (${ev.reason})` : '';
      if (ev.state === 'ice-connected') {
        this.status('info', 'Audio path found; securing it…');
      } else if (ev.state === 'connected') {
        this.status('ok', `Listening${engineInfo ? ` (${engineInfo.engine})` : ''}: speak, and the words appear below.`);
      } else if (ev.state === 'closed') {
        if (this.s.alive()) {
          // Not our Stop: the server ended it (consent expired, shutdown...).
          fail(this.s, new UserError('closed', `The server ended the session${why}.`));
        }
        if (!this.done) this.status('info', `Session closed${why}; waiting for the last results…`);
      }
    }

    setPartial(text) {
      this.partial = text;
      if (text) {
        this.partialsSeen++;
        if (this.firstPartialAt === null) this.firstPartialAt = this.at();
      }
      if (this.shown()) follow(() => { ui.partial.textContent = text; });
    }

    addFinal(ev) {
      const f = {
        text: String(ev.text || ''),
        start: Number(ev.start),
        end: Number(ev.end),
        latency_ms: ev.latency_ms === undefined || ev.latency_ms === null ? null : Number(ev.latency_ms),
        shown_at: this.at(),
      };
      const key = `${f.start}|${f.end}|${f.text}`;
      if (this.keys.has(key)) return;
      this.keys.add(key);
      if (this.firstFinalAt === null) this.firstFinalAt = f.shown_at;
      // Finals come in stream order; a resync may bring older ones late.
      const last = this.finals[this.finals.length - 1];
      this.finals.push(f);
      const inOrder = !last || !(f.start < last.start);
      if (!inOrder) this.finals.sort((a, b) => a.start - b.start);
      this.setPartial('');
      if (!this.shown()) return;
      if (inOrder) follow(() => appendFinal(f)); else renderTranscript();
      ui.copy.disabled = !this.text();
    }

    notice(kind, text) {
      const n = { kind, text, at: this.at() };
      this.notices.push(n);
      if (this.shown()) follow(() => appendNotice(n));
    }

    status(kind, text) {
      this.statusLine = { kind, text };
      if (this.shown()) { ui.trState.dataset.kind = kind; ui.trState.textContent = text; }
    }

    // The session ended (Stop, failure, the server): keep listening for
    // the last results until "done".
    sessionEnded() {
      this.ended = true;
      if (this.done) return;
      if (this.stream === 'idle') { // never opened: the session never existed
        this.status('info', 'Stopped before the session started: nothing to transcribe.');
        return;
      }
      this.status('info', 'Stopped; waiting for the last results…');
      this.doneTimer = setTimeout(() => {
        this.doneTimer = null;
        if (this.done || this.abandoned) return;
        this.stream = 'closed';
        this.closeStreams();
        this.status('warn', `The server did not finish the transcript within ${DONE_WAIT_MS / 1000} s: the last results may be missing.`);
      }, DONE_WAIT_MS);
    }

    abandon() {
      this.abandoned = true;
      clearTimeout(this.doneTimer);
      this.doneTimer = null;
      this.closeStreams();
    }

    text() { return this.finals.map((f) => f.text).filter(Boolean).join('\n'); }

    view() {
      return {
        finals: this.finals.map((f) => ({ ...f })),
        partial: this.partial,
        partials_seen: this.partialsSeen,
        first_partial_at: this.firstPartialAt,
        first_final_at: this.firstFinalAt,
        notices: this.notices.map((n) => ({ ...n })),
        server_state: this.serverState,
        stream: this.stream,
        done: this.done,
        status: this.statusLine || null,
        text: this.text(),
      };
    }
  }

  // Runs a change to the transcript box, keeping it scrolled to the newest
  // text when it was there before (someone reading back is not yanked down).
  function follow(change) {
    const box = ui.trBox;
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight <= SCROLL_STICK_PX;
    change();
    if (atEnd) box.scrollTop = box.scrollHeight;
  }

  function appendFinal(f) {
    if (!f.text) return; // an utterance with no words (noise): nothing to show
    const li = document.createElement('li');
    li.className = 'final';
    li.append(document.createTextNode(f.text));
    if (f.latency_ms !== null && Number.isFinite(f.latency_ms)) {
      const lat = document.createElement('span');
      lat.className = 'lat';
      lat.title = 'Latency: end of speech → result, measured by the server';
      lat.textContent = `${f.latency_ms.toFixed(0)} ms`;
      li.append(lat);
    }
    ui.finals.append(li);
  }

  function appendNotice(n) {
    const li = document.createElement('li');
    li.className = `notice ${n.kind}`;
    li.textContent = n.text;
    ui.finals.append(li);
  }

  // The whole box from the current transcript (Start, or finals resorted).
  // Notices go after the finals that came before them.
  function renderTranscript() {
    const t = transcript;
    follow(() => {
      ui.finals.replaceChildren();
      ui.partial.textContent = '';
      if (!t) { ui.trState.dataset.kind = 'info'; ui.trState.textContent = TR_HELP; return; }
      const notes = [...t.notices];
      for (const f of t.finals) {
        while (notes.length && notes[0].at < f.shown_at) appendNotice(notes.shift());
        appendFinal(f);
      }
      notes.forEach(appendNotice);
      ui.partial.textContent = t.partial;
      if (t.statusLine) { ui.trState.dataset.kind = t.statusLine.kind; ui.trState.textContent = t.statusLine.text; }
    });
    ui.copy.disabled = !(t && t.text());
  }

  async function copyTranscript() {
    const text = transcript ? transcript.text() : '';
    if (!text) return;
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      // No async clipboard (permission, older browser): select and copy.
      const ta = document.createElement('textarea');
      ta.value = text;
      ta.setAttribute('readonly', '');
      ta.style.position = 'fixed';
      ta.style.opacity = '0';
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand('copy'); } catch { ok = false; }
      ta.remove();
    }
    ui.copy.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { ui.copy.textContent = 'Copy'; }, 1500);
  }

  // The engine the server runs, from /healthz "asr".
  async function showEngine() {
    try {
      const r = await fetch(new URL('/healthz', location.href), { cache: 'no-store' });
      noteProxy(r);
      const j = await r.json();
      engineInfo = j && j.asr ? j.asr : null;
    } catch {
      engineInfo = null;
    }
    ui.trEngine.textContent = engineInfo
      ? `engine ${engineInfo.engine}${engineInfo.ready === false ? ' (not ready)' : ''}`
      : 'engine –';
  }

  const TR_HELP = ui.trState.textContent; // the page's first words there

  function showMode() {
    document.body.dataset.mode = ui.mode.value;
    renderTimeline(lastSession);
  }

  // ---- view -----------------------------------------------------------------------

  function setState(st) {
    state = st;
    const active = st === 'starting' || st === 'connected';
    ui.toggle.textContent = active ? 'Stop' : 'Start';
    ui.toggle.className = active ? 'stop' : 'start';
    ui.toggle.dataset.state = st;
    ui.mode.disabled = active;
    ui.aec.disabled = active || RAW;
    document.body.dataset.state = st;
    renderTimeline(lastSession);
  }

  function say(kind, text) {
    ui.status.dataset.kind = kind;
    ui.status.textContent = text;
  }

  function mark(s, phase) {
    if (s.marks[phase] !== undefined) return;
    s.marks[phase] = performance.now() - s.t0;
    renderTimeline(s);
  }

  function timelineOf(s) {
    const out = {};
    if (!s) return out;
    const post = s.marks.post;
    for (const [phase] of phasesOf(s.mode, s)) {
      const ms = s.marks[phase];
      if (ms === undefined) continue;
      out[phase] = { fromClick: ms, fromPost: post === undefined || ms < post ? null : ms - post };
    }
    // The two witnesses of the first audio back, for the curious.
    for (const [key, name] of [['unmute', 'trackUnmuted'], ['stats', 'statsFirstPacket']]) {
      const ms = s.marks[key];
      if (ms !== undefined) out[name] = { fromClick: ms, fromPost: post === undefined ? null : ms - post };
    }
    return out;
  }

  function renderTimeline(s) {
    const tl = timelineOf(s);
    ui.timeline.replaceChildren(...phasesOf(s ? s.mode : ui.mode.value, s).map(([phase, name]) => {
      const tr = document.createElement('tr');
      const p = tl[phase];
      tr.className = p ? 'done' : 'pending';
      const wait = state === 'starting' ? '…' : '—';
      const cells = [name, p ? `${fmt(p.fromClick, 0)} ms` : wait,
        p && p.fromPost !== null ? `${fmt(p.fromPost, 0)} ms` : (p ? '—' : wait)];
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = c;
        tr.append(td);
      }
      return tr;
    }));
  }

  function resetView() {
    renderTimeline(null);
    ui.transport.textContent = '–';
    ui.why.textContent = '';
    for (const el of [ui.rtt, ui.jitter, ui.lost, ui.bitrate]) el.textContent = '–';
  }

  // Sub-millisecond values (a LAN) keep two decimals; Chrome floors its
  // RTCP round trip at 1 ms.
  function ms(x) {
    return `${fmt(x, x < 1 ? 2 : 1)} ms`;
  }

  function fmt(x, digits) {
    return x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
  }

  // ---- messages ---------------------------------------------------------------------

  function port() {
    return location.port || (location.protocol === 'https:' ? '443' : '80');
  }

  function insecureMessage() {
    const p = port();
    return 'The browser blocks the microphone on this page because it was opened over plain http:// ' +
      'from another machine (microphone access needs HTTPS or localhost). Open it through an SSH tunnel instead: ' +
      `run "ssh -L ${p}:localhost:${p} ${location.hostname}" and open http://localhost:${p}/ — ` +
      'or use the server\'s https:// address.';
  }

  function micError(e) {
    switch (e && e.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        return new UserError('mic-denied', 'Microphone access was denied. Allow it for this site ' +
          '(the icon left of the address bar → Site settings → Microphone → Allow), then press Start again.');
      case 'NotFoundError':
      case 'OverconstrainedError':
        return new UserError('no-mic', 'No microphone was found. Connect one (or enable it in the system ' +
          'settings) and press Start again.');
      case 'NotReadableError':
      case 'AbortError':
        return new UserError('mic-busy', 'The microphone could not be opened: another application may be ' +
          'using it. Close that application and press Start again.');
      default:
        return new UserError('mic', `Could not open the microphone: ${e && (e.message || e.name) || e}`);
    }
  }

  function serverError(res, body) {
    const reason = (body || '').split('\n').map((l) => l.trim()).find(Boolean) || res.statusText || '';
    const head = `Server error ${res.status}${reason ? ': ' + reason : ''}.`;
    const e = serverErrorFor(res, head);
    e.brief = `HTTP ${res.status}${reason ? ' ' + reason : ''}`;
    return e;
  }

  function serverErrorFor(res, head) {
    switch (res.status) {
      case 401:
        return new UserError('server', `${head} This server needs an access token: enter it under "Access token" and press Start again.`, true);
      case 503: {
        const after = res.headers.get('Retry-After');
        return new UserError('server', `${head} The server is busy (session limit reached)` +
          (after ? `; try again in ${after} s.` : '; try again shortly.'), after !== null);
      }
      case 422:
        return new UserError('server', `${head} The browser offered no audio codec the server can use (it needs Opus).`);
      default:
        return new UserError('server', head);
    }
  }

  function isLoopbackPage() {
    return ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
  }

  function iceFailedMessage() {
    const p = port();
    if (isLoopbackPage()) {
      return 'No media path through the tunnel (ICE failed). Over an SSH tunnel only TCP ' + p + ' gets ' +
        'through; the server offers it as an ICE-TCP candidate on 127.0.0.1 when the page is loaded from ' +
        `localhost. Check that the tunnel forwards to the server's port ${p} ` +
        `(ssh -L ${p}:localhost:${p} HOST) and look at the server log.`;
    }
    return 'No media path to the server (ICE failed: the connectivity checks got no answer). What to try: ' +
      `open ${p}/udp and ${p}/tcp to the server (nothing else is needed); where UDP is blocked on the way the ` +
      `browser falls back to TCP ${p} by itself, provided the address the server advertises is reachable from ` +
      'here (behind NAT or in a container, start it with --public-ip ADDRESS); or use an SSH tunnel: ' +
      `ssh -L ${p}:localhost:${p} ${location.hostname} and open http://localhost:${p}/.`;
  }

  function slowMessage(s) {
    return `Still connecting after ${SLOW_CONNECT_MS / 1000} s (ICE ${s.iceState}). ` +
      'The server\'s address in the answer may not be reachable from here. ' + iceFailedMessage();
  }

  function connectedMessage(s) {
    return `Connected (${s.mode}${s.via === 'websocket' ? ', over the WebSocket' : ''}). ` + (s.mode === 'echo' ? 'Speak: you should hear yourself back.'
      : 'Speak: the words appear in the transcript below.');
  }

  // ---- wiring ---------------------------------------------------------------------------

  initSettings();
  renderTimeline(null);
  setState('idle');
  freePreviousSession();
  ui.toggle.addEventListener('click', toggle);
  ui.copy.addEventListener('click', copyTranscript);
  showEngine();

  // Leaving or reloading the page ends the session on the server too.
  // The keepalive DELETE outlives the page. Its answer never reaches this
  // page, so the stored Location stays and the tab's next load DELETEs it
  // again: a 404 when the first one arrived, the cure when it was lost or
  // pagehide never ran (a killed tab).
  window.addEventListener('pagehide', () => { if (session) stop('Stopped (page closed).'); });

  // The hook the end-to-end tests use: it reflects what the page shows and
  // drives the same code as the button.
  window.voxgate = {
    get state() { return state; },
    get mode() { return ui.mode.value; },
    get timeline() { return timelineOf(lastSession); },
    get transport() { return lastSession && lastSession.transport; },
    get stats() { return lastSession && lastSession.stats; },
    get levels() { return { ...levels }; },
    get error() { return lastError; },
    get location() { return lastSession && lastSession.location; },
    // 'webrtc' | 'websocket': the transport of the last Start (the
    // transport object says why for the WebSocket), and the WebSocket
    // session's id from the server's "ready".
    get via() { return lastSession && lastSession.via; },
    get wsId() { return lastSession && (lastSession.wsId || null); },
    get proxied() { return proxied; },
    // Transcribe mode: what the transcript shows. Times (shown_at,
    // first_partial_at, first_final_at) are ms from the Start click, like
    // the timeline's fromClick; partials_seen counts non-empty partials.
    get transcript() { return transcript ? transcript.view() : null; },
    get engine() { return engineInfo; },
    // ms since the last Start click (the clock of the timeline and the
    // transcript's times), null before the first.
    sinceClick() { return lastSession ? performance.now() - lastSession.t0 : null; },
    start,
    stop,
    tapRemote,
  };
})();
