// voxgate page: the fallback to the WebSocket audio path (/ws/audio,
// ws_audio.js). When ICE has not connected within the fallback time
// (X-Voxgate-Fallback-Ms in the WHIP answer, default 2 s; ?fallback_ms=N
// overrides), when ICE fails, or when the offer POST fails, the WebRTC
// attempt ends (its WHIP session DELETEd first: one session on the server
// at a time) and the session carries on over a WebSocket.

import { TRANSPORT, CODEC, STATS_INTERVAL_MS, PC_CLOSE_WAIT_MS, ui, UserError, proxied, wsUrl } from './page.js';
import { setState, say, mark, showLevel, iceFailedMessage, connectedMessage } from './view.js';
import { showWsTransport, updateWsStats } from './stats.js';
import { deleteSession } from './rtc.js';
import { audioCtx, remoteAudio, meter } from './audio.js';
import { fail, settle } from './session.js';

// (Re)arms the fallback: when ICE has not connected `ms` after the POST,
// the WebSocket takes over. `from`: where the time comes from ('default',
// 'page' for ?fallback_ms=, 'server' for X-Voxgate-Fallback-Ms). Never
// with ?transport=webrtc.
export function armFallback(s, ms, from) {
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
export function fallBack(s, reason) {
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

export async function useWebSocket(s, reason) {
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
