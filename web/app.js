// voxgate page: a WHIP client (RFC 9725) with a connection timeline, the
// transport in use, level meters and live statistics; in Transcribe mode
// also the live transcript from the session's event stream (a WebSocket at
// <session>/events). ES modules, no framework, no build step, nothing
// loaded from elsewhere.
//
// WebRTC first; where it cannot get through (an HTTP-only proxy, a PaaS
// router that forwards one HTTP port) the page switches by itself to the
// WebSocket audio path, /ws/audio (ws_audio.js). ?transport=ws goes
// straight to the WebSocket, ?transport=webrtc never leaves WebRTC;
// ?codec=pcm16 sends PCM even where WebCodecs has Opus.
//
// This module starts the page: the settings, the wiring and the test hook.
// The others:
//   page.js        what they all share: address options, constants, the
//                  elements, storage, the error type, the access token
//   session.js     Start and Stop: one session at a time
//   rtc.js         the WebRTC session: WHIP and the peer connection
//   fallback.js    the switch to the WebSocket path
//   stats.js       the transport in use and the live statistics
//   audio.js       the AudioContext, playback, level meters, the test tap
//   transcript.js  Transcribe mode's transcript
//   view.js        the button, the status line, the timeline, the messages
// Some import each other (session.js starts rtc.js, which ends sessions
// through session.js); no module calls an import while the modules load,
// so those cycles are harmless.

import { $, RAW, KEY, store, ui, proxied } from './page.js';
import { state, setState, timelineOf, renderTimeline } from './view.js';
import { freePreviousSession } from './rtc.js';
import { levels, tapRemote } from './audio.js';
import { copyTranscript, showEngine, engineInfo } from './transcript.js';
import { session, lastSession, lastError, transcript, toggle, start, stop } from './session.js';

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

function showMode() {
  document.body.dataset.mode = ui.mode.value;
  renderTimeline(lastSession);
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
