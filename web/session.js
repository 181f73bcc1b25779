// voxgate page: one session at a time, from Start to Stop. The Start/Stop
// button flips the page's state synchronously on every click, so one click
// always suffices; the network work of an attempt that was stopped
// finishes in the background (an answer that arrives after Stop is
// DELETEd at once), so a stop can never overtake the start it cancels.
// WebRTC first (rtc.js), the WebSocket when it does not connect
// (fallback.js).

import { RAW, TRANSPORT, PC_CLOSE_WAIT_MS, ui, UserError } from './page.js';
import { state, setState, say, mark, resetView, showLevel, insecureMessage, micError } from './view.js';
import { deleteSession, runWebRtc } from './rtc.js';
import { fallBack, useWebSocket } from './fallback.js';
import { remoteAudio, ensureAudioContext, meter } from './audio.js';
import { Transcript, renderTranscript, showEngine } from './transcript.js';

export let session = null;        // the current attempt (see Session), null when idle
export let lastSession = null;    // the most recent attempt, kept for its timeline and stats
export let lastError = null;      // { kind, message } of the last failure
export let transcript = null;     // the Transcript on the page (transcribe mode), kept after Stop until the next Start

let seq = 0;
const waiters = [];        // start() promises waiting for connected/failed

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

export function toggle() {
  if (session) stop(); else start().catch(() => { /* shown on the page */ });
}

// Starts a session (what a click on Start does). The promise resolves
// when the media path is connected and rejects when the attempt fails or
// is stopped.
export function start() {
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
export function stop(message = 'Stopped.') {
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

export function fail(s, e) {
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

export function settle(ok, e) {
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
