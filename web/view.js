// voxgate page: what it shows of a session. The Start/Stop button and the
// page's state, the status line, the connection timeline, the level
// meters' bars, number formats, and the words for what went wrong.

import { RAW, SLOW_CONNECT_MS, ui, UserError } from './page.js';
import { lastSession } from './session.js';

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

export let state = 'idle';        // idle | starting | connected | failed; set by setState()

export function setState(st) {
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

export function say(kind, text) {
  ui.status.dataset.kind = kind;
  ui.status.textContent = text;
}

export function mark(s, phase) {
  if (s.marks[phase] !== undefined) return;
  s.marks[phase] = performance.now() - s.t0;
  renderTimeline(s);
}

export function timelineOf(s) {
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

export function renderTimeline(s) {
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

export function resetView() {
  renderTimeline(null);
  ui.transport.textContent = '–';
  ui.why.textContent = '';
  for (const el of [ui.rtt, ui.jitter, ui.lost, ui.bitrate]) el.textContent = '–';
}

// Sub-millisecond values (a LAN) keep two decimals; Chrome floors its
// RTCP round trip at 1 ms.
export function ms(x) {
  return `${fmt(x, x < 1 ? 2 : 1)} ms`;
}

export function fmt(x, digits) {
  return x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
}

export function showLevel(bar, label, db) {
  if (db === null) {
    bar.style.width = '0%';
    label.textContent = '–';
    return;
  }
  const pct = Math.max(0, Math.min(100, (db + 60) / 60 * 100));
  bar.style.width = pct.toFixed(0) + '%';
  label.textContent = db < -90 ? 'silent' : `${db.toFixed(0)} dB`;
}

// ---- messages ---------------------------------------------------------------------

function port() {
  return location.port || (location.protocol === 'https:' ? '443' : '80');
}

export function insecureMessage() {
  const p = port();
  return 'The browser blocks the microphone on this page because it was opened over plain http:// ' +
    'from another machine (microphone access needs HTTPS or localhost). Open it through an SSH tunnel instead: ' +
    `run "ssh -L ${p}:localhost:${p} ${location.hostname}" and open http://localhost:${p}/ — ` +
    'or use the server\'s https:// address.';
}

export function micError(e) {
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

export function serverError(res, body) {
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

export function iceFailedMessage() {
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

export function slowMessage(s) {
  return `Still connecting after ${SLOW_CONNECT_MS / 1000} s (ICE ${s.iceState}). ` +
    'The server\'s address in the answer may not be reachable from here. ' + iceFailedMessage();
}

export function connectedMessage(s) {
  return `Connected (${s.mode}${s.via === 'websocket' ? ', over the WebSocket' : ''}). ` + (s.mode === 'echo' ? 'Speak: you should hear yourself back.'
    : 'Speak: the words appear in the transcript below.');
}
