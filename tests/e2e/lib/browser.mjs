// What the browser-driving e2e scripts share: launching Debian's headless
// Chromium with the fake speech microphone (TESTING.md's flags), waiting on
// the page's window.voxgate hook, recording the echo and deciding whether it
// carries the speech, and reading the transport and the server's view.
// Used by echo_browser.mjs and reach_browser.mjs.

import { chromium } from 'playwright-core';
import { readWav, resample, windowedCorrelation, ANALYSIS_RATE, WINDOW_S } from './audio.mjs';

export const PASS_MEDIAN = 0.6;   // median window correlation for the right sentence
export const PASS_MARGIN = 0.3;   // ... and by how much it must beat the control
export const PHASES = ['mic', 'offer', 'post', 'answer', 'ice', 'dtls', 'audio'];

// --name value pairs -> { name: value } (kebab-case to camelCase).
export function parseArgs(argv, required, defaults = {}) {
  const a = { chromium: '/usr/bin/chromium', ...defaults };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    a[k] = argv[i + 1];
  }
  for (const k of required) {
    if (a[k] === undefined) throw new Error(`missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  return a;
}

// ok/FAIL lines and their counts.
export function checker(prefix = '') {
  const c = { passes: 0, failures: 0, failed: [] };
  c.check = (ok, what, detail = '') => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${prefix}${what}${detail ? ': ' + detail : ''}`);
    if (ok) c.passes++; else { c.failures++; c.failed.push(what); }
    return ok;
  };
  return c;
}

export function fmtMs(x) { return x === null || x === undefined ? '—' : `${x.toFixed(0)} ms`; }

// Headless Chromium with the WAV as microphone. A page at a plain-http
// address other than localhost is not a secure context: such an origin is
// declared secure (test-only flag) so getUserMedia exists. An https page
// needs no such flag; with selfSigned the browser (and the context's
// request API) accept the server's self-signed certificate.
export async function launch({ profile, speech, url, chromium: exe = '/usr/bin/chromium', extraArgs = [],
  selfSigned = false }) {
  const base = new URL(url);
  const args = [
    '--headless=new', '--no-sandbox', '--disable-gpu',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${speech}`,
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic',
    ...(selfSigned ? ['--ignore-certificate-errors'] : []),
    ...extraArgs,
  ];
  if (base.protocol === 'http:' && !['localhost', '127.0.0.1'].includes(base.hostname)) {
    args.push(`--unsafely-treat-insecure-origin-as-secure=${base.origin}`);
  }
  return chromium.launchPersistentContext(profile, {
    executablePath: exe,
    headless: true,
    args,
    ignoreDefaultArgs: ['--mute-audio'],
    ignoreHTTPSErrors: selfSigned,
    viewport: { width: 412, height: 915 }, // a phone
  });
}

export const vg = (page, expr) => page.evaluate(expr);

// page.waitForFunction, failing with what was awaited.
export async function waitFor(page, fn, what, ms, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 10 });
  } catch (e) {
    throw new Error(`waited ${ms / 1000} s for ${what} (${e.message.split('\n')[0]})`);
  }
}

export async function waitState(page, states, ms) {
  await waitFor(page, (s) => s.includes(window.voxgate.state), `the page to be ${states.join(' or ')}`, ms, states);
  return vg(page, () => window.voxgate.state);
}

// GET /api/sessions; with api (a Playwright APIRequestContext, e.g.
// ctx.request) through it, so it shares the browser's TLS leniency.
export async function serverSessions(base, api = null) {
  const url = new URL('/api/sessions', base).href;
  if (api) {
    const r = await api.get(url);
    if (!r.ok()) throw new Error(`GET /api/sessions: ${r.status()}`);
    return r.json();
  }
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET /api/sessions: ${r.status}`);
  return r.json();
}

// Polls until the server lists no session (DELETE reached it), up to ms.
export async function serverEmpty(base, ms = 3000, api = null) {
  const end = Date.now() + ms;
  let list = [];
  while (Date.now() < end) {
    list = await serverSessions(base, api);
    if (list.length === 0) return { ok: true, list };
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ok: false, list };
}

// Prints the page's timeline (ms from the click and from the POST).
export function printTimeline(tl, w = tl) {
  console.log('timeline (ms from click / from POST):');
  for (const p of PHASES) {
    console.log(`  ${p.padEnd(7)} ${fmtMs(tl[p] && tl[p].fromClick).padStart(8)}  ${fmtMs(tl[p] && tl[p].fromPost).padStart(8)}`);
  }
  console.log(`  (first audio witnesses from POST: track unmute ${fmtMs(w.trackUnmuted && w.trackUnmuted.fromPost)}, ` +
    `getStats ${fmtMs(w.statsFirstPacket && w.statsFirstPacket.fromPost)})`);
}

// Records `seconds` of the echo as the page plays it and correlates it, in
// windows of windowS (0.5 s unless told; lib/audio.mjs), with the sentence
// the microphone plays and with a control sentence. Prints the per-window numbers; returns
// { right, control } (windowedCorrelation results) and the recording
// (Float32Array at ANALYSIS_RATE).
export async function recordEcho(page, { speech, control, seconds, windowS = WINDOW_S }) {
  const rec = await page.evaluate((s) => window.voxgate.tapRemote(s), seconds);
  const recorded = resample(Float32Array.from(rec.samples), rec.sampleRate, ANALYSIS_RATE);
  const sp = readWav(speech), ct = readWav(control);
  const right = windowedCorrelation(recorded, resample(sp.samples, sp.rate), ANALYSIS_RATE, windowS);
  const ctl = windowedCorrelation(recorded, resample(ct.samples, ct.rate), ANALYSIS_RATE, windowS);
  console.log(`recorded ${rec.samples.length} samples at ${rec.sampleRate} Hz, peak window RMS ` +
    `${(20 * Math.log10(right.peakRms + 1e-12)).toFixed(1)} dBFS, ${right.speechWindows}/${right.totalWindows} windows with sound`);
  console.log(`  speech  per window: ${right.windows.map((x) => x.corr.toFixed(2)).join(' ')}`);
  console.log(`  speech  lag (ms):   ${right.windows.map((x) => x.lagMs.toFixed(0)).join(' ')}`);
  console.log(`  control per window: ${ctl.windows.map((x) => x.corr.toFixed(2)).join(' ')}`);
  console.log(`CORRELATION speech=${right.median.toFixed(3)} control=${ctl.median.toFixed(3)} ` +
    `margin=${(right.median - ctl.median).toFixed(3)}`);
  return { right, control: ctl, recorded };
}

// The four echo checks (TESTING.md's rule, thresholds overridable).
export function checkEcho(c, { right, control }, { median = PASS_MEDIAN, margin = PASS_MARGIN } = {}) {
  c.check(right.speechWindows >= 3, 'the echo has sound', `${right.speechWindows} windows`);
  c.check(right.median >= median, `the echo is the speech (median >= ${median})`, right.median.toFixed(3));
  c.check(control.median < median, 'the control sentence does not match', control.median.toFixed(3));
  c.check(right.median - control.median >= margin, `speech beats control by >= ${margin}`,
    (right.median - control.median).toFixed(3));
}

// The selected candidate pair, stats and levels as the page shows them,
// after at least one stats round; printed, and returned.
export async function readTransport(page) {
  await waitFor(page, () => window.voxgate.transport && window.voxgate.stats, 'the transport and stats', 5000);
  await page.waitForTimeout(1200);
  const tr = await vg(page, () => window.voxgate.transport);
  const stats = await vg(page, () => window.voxgate.stats);
  const levels = await vg(page, () => window.voxgate.levels);
  console.log(`TRANSPORT ${tr.label}: browser ${tr.local} (${tr.localType}${tr.tcpType ? ' ' + tr.tcpType : ''}) -> ` +
    `server ${tr.remote} (${tr.remoteType}) srtp=${tr.srtpCipher} dtls=${tr.dtlsCipher}`);
  console.log(`stats: rtt rtcp=${fmtMs(stats.rttRtcpMs)} ice=${fmtMs(stats.rttIceMs)} jitter=${fmtMs(stats.jitterMs)} ` +
    `lost=${stats.packetsLost} received=${stats.packetsReceived} sent=${stats.packetsSent} ` +
    `bitrate out/in=${stats.bitrateOutKbps && stats.bitrateOutKbps.toFixed(0)}/${stats.bitrateInKbps && stats.bitrateInKbps.toFixed(0)} kbit/s` +
    ` levels mic=${levels.mic && levels.mic.toFixed(0)} dB return=${levels.ret && levels.ret.toFixed(0)} dB`);
  return { tr, stats, levels };
}
