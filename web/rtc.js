// voxgate page: the WebRTC session. The WHIP exchange (RFC 9725: POST the
// offer, DELETE the session resource), the peer connection's events, and
// the first audio back. When it does not connect in time, fallback.js
// takes over.

import {
  FALLBACK_MS_PARAM, SESSION_KEY, POST_TIMEOUT_MS, SLOW_CONNECT_MS, FIRST_AUDIO_POLL_MS, STATS_INTERVAL_MS,
  FALLBACK_MS_DEFAULT, tabStore, ui, UserError, noteProxy, authHeaders,
} from './page.js';
import {
  state, setState, say, mark, serverError, iceFailedMessage, slowMessage, connectedMessage,
} from './view.js';
import { updateStats } from './stats.js';
import { armFallback, fallBack } from './fallback.js';
import { remoteAudio, meter } from './audio.js';
import { fail, settle } from './session.js';

// RFC 9725 §4.3: DELETE on the session URL ends it. keepalive lets the
// request outlive the page (sendBeacon can only POST).
export function deleteSession(url) {
  return fetch(url, { method: 'DELETE', headers: authHeaders(), keepalive: true })
    .then(() => { if (tabStore.get(SESSION_KEY) === url) tabStore.del(SESSION_KEY); })
    .catch(() => { /* best effort: the server also expires it (consent freshness) */ });
}

// A reload or a crashed tab leaves a session on the server; free it now.
export function freePreviousSession() {
  const prev = tabStore.get(SESSION_KEY);
  if (prev) deleteSession(prev);
}

export async function runWebRtc(s) {
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
