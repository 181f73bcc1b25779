// voxgate page: what every part of the page shares. The options in the
// page's address, the timing constants, the page's elements, storage, the
// error the page shows, whether a proxy is on the way, and the access
// token's two carriers (a header on requests, ?token= on WebSocket URLs).

export const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// ?raw=1: no browser voice processing at all (the tests compare the
// echoed audio with the file fed to the fake microphone).
export const RAW = params.get('raw') === '1';
// ?transport=ws | webrtc: only that transport (default: WebRTC, then the
// WebSocket when WebRTC does not connect).
export const TRANSPORT = ['ws', 'webrtc'].includes(params.get('transport')) ? params.get('transport') : null;
// ?codec=opus | pcm16: the WebSocket path's codec (default: Opus where
// the browser has a WebCodecs Opus encoder, else PCM).
export const CODEC = ['opus', 'pcm16'].includes(params.get('codec')) ? params.get('codec') : null;
// ?fallback_ms=N: how long ICE may take before the WebSocket takes over;
// overrides the server's X-Voxgate-Fallback-Ms.
export const FALLBACK_MS_PARAM = /^\d+$/.test(params.get('fallback_ms') || '') ? Number(params.get('fallback_ms')) : null;

export const KEY = {
  mode: 'voxgate.mode',
  aec: 'voxgate.aec',
  token: 'voxgate.token',
};
// The Location of this tab's live session, to DELETE after a reload. Per
// tab (sessionStorage survives a reload, not other tabs), so one tab's
// reload never ends another tab's session.
export const SESSION_KEY = 'voxgate.session';

export const POST_TIMEOUT_MS = 15000;     // no answer by then: give up
export const SLOW_CONNECT_MS = 8000;      // answer received but no media path yet: say what to try
export const FIRST_AUDIO_POLL_MS = 20;    // getStats cadence until the first packet comes back
export const STATS_INTERVAL_MS = 1000;
export const METER_INTERVAL_MS = 50;
export const PC_CLOSE_WAIT_MS = 1000;     // Stop: close the peer connection once the DELETE is answered, or by then
export const DONE_WAIT_MS = 20000;        // after Stop: how long to wait for the server's "done"
export const EVENTS_RETRY_MS = 1000;      // event stream lost while the session lives: reconnect after
export const EVENTS_RETRIES = 5;
export const SCROLL_STICK_PX = 32;        // the transcript follows new text when scrolled this close to its end
export const FALLBACK_MS_DEFAULT = 2000;  // ICE not connected by then (from the POST): WebSocket; the server's header overrides

function storage(area) {
  return {
    get(k) { try { return window[area].getItem(k); } catch { return null; } },
    set(k, v) { try { window[area].setItem(k, v); } catch { /* storage disabled */ } },
    del(k) { try { window[area].removeItem(k); } catch { /* storage disabled */ } },
  };
}
export const store = storage('localStorage');   // settings
export const tabStore = storage('sessionStorage');

export const ui = {
  toggle: $('toggle'), mode: $('mode'), aec: $('aec'), token: $('token'),
  status: $('status'), timeline: $('timeline').tBodies[0],
  transport: $('transport'), why: $('transport-why'),
  micBar: $('mic-bar'), micDb: $('mic-db'), retBar: $('ret-bar'), retDb: $('ret-db'),
  rtt: $('st-rtt'), jitter: $('st-jitter'), lost: $('st-lost'), bitrate: $('st-bitrate'),
  trEngine: $('tr-engine'), trState: $('tr-state'), trBox: $('transcript'),
  finals: $('finals'), partial: $('partial'), copy: $('copy'),
};

// kind: what failed; final: the WebSocket would fail the same way (a
// token refused, a full server), so no fallback.
export class UserError extends Error {
  constructor(kind, message, final = false) { super(message); this.kind = kind; this.final = final; }
}

// Set when a response from the server says it came through a proxy
// (X-Voxgate-Proxied: 1): mentioned when the WebSocket takes over.
export let proxied = false;
export function noteProxy(res) {
  if (res && res.headers && res.headers.get('X-Voxgate-Proxied') === '1') proxied = true;
}

// --token: requests carry the access token as a bearer token (RFC 6750).
export function authHeaders() {
  const t = ui.token.value.trim();
  return t ? { Authorization: 'Bearer ' + t } : {};
}

// A WebSocket URL for `path` (relative to the page, or absolute). A browser
// WebSocket cannot send Authorization, so the token rides in the query
// (the server takes ?token= on its WebSocket paths); the README says how
// to keep it out of a proxy's access log.
export function wsUrl(path) {
  const u = new URL(path, location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  const t = ui.token.value.trim();
  if (t) u.searchParams.set('token', t);
  return u.href;
}
