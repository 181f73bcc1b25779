// voxgate page: Transcribe mode's live transcript. The session's event
// stream, the transcript box, Copy, and the engine the server runs.

import {
  DONE_WAIT_MS, EVENTS_RETRY_MS, EVENTS_RETRIES, SCROLL_STICK_PX, ui, UserError, noteProxy, authHeaders, wsUrl,
} from './page.js';
import { say, mark } from './view.js';
import { transcript, fail } from './session.js';

// One session's transcript, filled from the session's event stream
// (GET <session>/events, a WebSocket of JSON text messages):
//   {"type":"state","state":"new"|"ice-connected"|"connected"|"closed","reason"?}
//                                            first the current state, then each change
//   {"type":"partial","text","start"}        replaces the previous partial
//   {"type":"final","text","start","end","latency_ms"}   one per utterance
//   {"type":"error","text"}                  the engine failed for this session
//   {"type":"lag","text","dropped_s"}        the engine fell behind; audio dropped
//   {"type":"done"}                          every result sent; the server closes
// It outlives its session: the last utterance's final comes after Stop,
// so it listens until "done" (at most DONE_WAIT_MS), and stays on the
// page until the next Start.
export class Transcript {
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

  url() { return wsUrl(this.s.location + '/events'); }

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
export function renderTranscript() {
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

export async function copyTranscript() {
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
export async function showEngine() {
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

export let engineInfo = null;     // /healthz "asr": { engine, ready, streams }, null when unknown

const TR_HELP = ui.trState.textContent; // the page's first words there
