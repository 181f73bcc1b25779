// Drives the voxgate page in headless Chromium (Debian's /usr/bin/chromium)
// against a running server, and checks that the echo carries the speech the
// fake microphone plays. Run by echo_browser.sh inside the client network
// namespace; see that script for the set-up.
//
//   node echo_browser.mjs --url http://10.77.0.1:8080/ --speech speech.wav \
//        --control control.wav --profile DIR [--screenshot out.png] [--record-s 5]
//        [--insecure-url http://OTHER_ADDR:8080/]
//
// Steps, each through the page's own button (window.voxgate only reads):
//   0. (--insecure-url) The page at a plain-http address the browser does not
//      treat as secure: Start fails with the insecure-context explanation.
//   1. Start then Stop while the offer POST is in flight: the page is idle at
//      once and the server ends up with no session.
//   2. One click on Start: connected, first audio back, every timeline phase
//      reported; record the echo and compare it with the speech and with a
//      control sentence (windowed correlation, lib/audio.mjs).
//   3. Reload while connected: the server frees the session.
//   4. Start, Stop with the DELETE dropped: the tab's next load sends it again.
//   5. Start again with one click, then Stop: the server frees the session.
// Prints the numbers and one line per check, then RESULT passed=N failed=M;
// exits non-zero when a check failed.

import { chromium } from 'playwright-core';
import { readWav, resample, windowedCorrelation, ANALYSIS_RATE } from './lib/audio.mjs';

const PASS_MEDIAN = 0.6;   // median window correlation for the right sentence
const PASS_MARGIN = 0.3;   // ... and by how much it must beat the control
const PHASES = ['mic', 'offer', 'post', 'answer', 'ice', 'dtls', 'audio'];

function parseArgs(argv) {
  const a = { recordS: 5, chromium: '/usr/bin/chromium' };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    a[k] = argv[i + 1];
  }
  for (const k of ['url', 'speech', 'control', 'profile']) {
    if (!a[k]) throw new Error(`missing --${k}`);
  }
  a.recordS = Number(a.recordS);
  return a;
}

let failures = 0, passes = 0;
function check(ok, what, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
  if (ok) passes++; else failures++;
  return ok;
}

async function serverSessions(base) {
  const r = await fetch(new URL('/api/sessions', base));
  if (!r.ok) throw new Error(`GET /api/sessions: ${r.status}`);
  return r.json();
}

// Polls until the server lists no session (DELETE reached it), up to ms.
async function serverEmpty(base, ms = 3000) {
  const end = Date.now() + ms;
  let list = [];
  while (Date.now() < end) {
    list = await serverSessions(base);
    if (list.length === 0) return { ok: true, list };
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ok: false, list };
}

const vg = (page, expr) => page.evaluate(expr);

// page.waitForFunction, failing with what was awaited.
async function waitFor(page, fn, what, ms, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 10 });
  } catch (e) {
    throw new Error(`waited ${ms / 1000} s for ${what} (${e.message.split('\n')[0]})`);
  }
}

async function waitState(page, states, ms) {
  await waitFor(page, (s) => s.includes(window.voxgate.state), `the page to be ${states.join(' or ')}`, ms, states);
  return vg(page, () => window.voxgate.state);
}

function fmtMs(x) { return x === null || x === undefined ? '—' : `${x.toFixed(0)} ms`; }

async function main() {
  const args = parseArgs(process.argv);
  const base = new URL(args.url);
  const origin = base.origin;
  const browserArgs = [
    '--headless=new', '--no-sandbox', '--disable-gpu',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${args.speech}`,
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic',
  ];
  if (base.protocol === 'http:' && !['localhost', '127.0.0.1'].includes(base.hostname)) {
    browserArgs.push(`--unsafely-treat-insecure-origin-as-secure=${origin}`);
  }
  const ctx = await chromium.launchPersistentContext(args.profile, {
    executablePath: args.chromium,
    headless: true,
    args: browserArgs,
    ignoreDefaultArgs: ['--mute-audio'],
    viewport: { width: 412, height: 915 }, // a phone
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    // (A 404 after a reload is expected: the load DELETEs the stored session
    // again in case the DELETE sent from pagehide was lost.)
    let quiet = null; // errors a step provokes on purpose
    page.on('console', (m) => {
      const t = m.text();
      if (m.type() === 'error' && !/status of 404/.test(t) && !(quiet && quiet.test(t))) console.log(`  [page] ${t}`);
    });
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    if (args.insecureUrl) {
      await page.goto(args.insecureUrl);
      await page.click('#toggle');
      const st0 = await waitState(page, ['failed', 'connected'], 5000);
      const e0 = await vg(page, () => window.voxgate.error);
      const shown = await page.textContent('#status');
      check(st0 === 'failed' && e0 && e0.kind === 'insecure' && /HTTPS or localhost/.test(shown) && /ssh -L/.test(shown),
        'insecure page: Start explains HTTPS/localhost and the SSH tunnel', shown);
    }
    await page.goto(args.url);
    check(await vg(page, () => window.voxgate.state) === 'idle', 'page loaded idle (no auto-start)');

    // 1. Stop while the POST is in flight.
    const cancel = await page.evaluate(async () => {
      const btn = document.getElementById('toggle');
      btn.click();
      const t0 = performance.now();
      while (!window.voxgate.timeline.post && performance.now() - t0 < 5000) {
        await new Promise((r) => setTimeout(r, 0));
      }
      const posted = !!window.voxgate.timeline.post;
      btn.click();
      return { posted, stateAfter: window.voxgate.state, label: btn.textContent };
    });
    check(cancel.posted && cancel.stateAfter === 'idle' && cancel.label === 'Start',
      'Stop during the POST: idle at once', JSON.stringify(cancel));
    await new Promise((r) => setTimeout(r, 300));
    const e1 = await serverEmpty(base);
    check(e1.ok, 'Stop during the POST: the server has no session left', JSON.stringify(e1.list));
    check(await vg(page, () => window.voxgate.state) === 'idle', 'Stop during the POST: stays idle');
    check(!(await vg(page, () => window.voxgate.timeline.answer)),
      'Stop during the POST: the late answer was not applied (it was DELETEd)');

    // 2. One click: connected, audio back, timeline, transport, the echo.
    await page.click('#toggle');
    const st = await waitState(page, ['connected', 'failed'], 20000);
    const err = await vg(page, () => window.voxgate.error);
    if (!check(st === 'connected', 'one click connects', st + (err ? ` (${err.message})` : ''))) {
      return;
    }
    await waitFor(page, () => window.voxgate.timeline.audio, 'the first audio back', 10000);
    const tl = await vg(page, () => window.voxgate.timeline);
    console.log('timeline (ms from click / from POST):');
    for (const p of PHASES) {
      console.log(`  ${p.padEnd(7)} ${fmtMs(tl[p] && tl[p].fromClick).padStart(8)}  ${fmtMs(tl[p] && tl[p].fromPost).padStart(8)}`);
    }
    await page.waitForFunction(() => window.voxgate.timeline.statsFirstPacket, null, { timeout: 2000 }).catch(() => {});
    const w = await vg(page, () => window.voxgate.timeline);
    console.log(`  (first audio witnesses from POST: track unmute ${fmtMs(w.trackUnmuted && w.trackUnmuted.fromPost)}, ` +
      `getStats ${fmtMs(w.statsFirstPacket && w.statsFirstPacket.fromPost)})`);
    const missing = PHASES.filter((p) => !tl[p]);
    check(missing.length === 0, 'every timeline phase reported', missing.length ? 'missing ' + missing.join(',') : '');
    const afterPost = ['answer', 'ice', 'dtls', 'audio'];
    check(afterPost.every((p) => tl[p] && tl[p].fromPost >= 0), 'phases after the POST measured from it');
    console.log(`TIMELINE_FROM_POST answer=${tl.answer.fromPost.toFixed(1)} ice=${tl.ice.fromPost.toFixed(1)} ` +
      `dtls=${tl.dtls.fromPost.toFixed(1)} audio=${tl.audio.fromPost.toFixed(1)} click_to_post=${tl.post.fromClick.toFixed(1)}`);

    // The echo, recorded as the page plays it.
    await page.waitForTimeout(500); // let the jitter buffer settle
    const rec = await page.evaluate((s) => window.voxgate.tapRemote(s), args.recordS);
    const recorded = resample(Float32Array.from(rec.samples), rec.sampleRate, ANALYSIS_RATE);
    const sp = readWav(args.speech), ct = readWav(args.control);
    const right = windowedCorrelation(recorded, resample(sp.samples, sp.rate));
    const control = windowedCorrelation(recorded, resample(ct.samples, ct.rate));
    console.log(`recorded ${rec.samples.length} samples at ${rec.sampleRate} Hz, peak window RMS ` +
      `${(20 * Math.log10(right.peakRms + 1e-12)).toFixed(1)} dBFS, ${right.speechWindows}/${right.totalWindows} windows with sound`);
    console.log(`  speech  per window: ${right.windows.map((w) => w.corr.toFixed(2)).join(' ')}`);
    console.log(`  speech  lag (ms):   ${right.windows.map((w) => w.lagMs.toFixed(0)).join(' ')}`);
    console.log(`  control per window: ${control.windows.map((w) => w.corr.toFixed(2)).join(' ')}`);
    console.log(`CORRELATION speech=${right.median.toFixed(3)} control=${control.median.toFixed(3)} ` +
      `margin=${(right.median - control.median).toFixed(3)}`);
    check(right.speechWindows >= 3, 'the echo has sound', `${right.speechWindows} windows`);
    check(right.median >= PASS_MEDIAN, `the echo is the speech (median >= ${PASS_MEDIAN})`, right.median.toFixed(3));
    check(control.median < PASS_MEDIAN, 'the control sentence does not match', control.median.toFixed(3));
    check(right.median - control.median >= PASS_MARGIN, `speech beats control by >= ${PASS_MARGIN}`,
      (right.median - control.median).toFixed(3));

    // Transport, stats and the server's view, after at least one stats round.
    await waitFor(page, () => window.voxgate.transport && window.voxgate.stats, 'the transport and stats', 5000);
    await page.waitForTimeout(1200);
    const tr = await vg(page, () => window.voxgate.transport);
    const stats = await vg(page, () => window.voxgate.stats);
    const levels = await vg(page, () => window.voxgate.levels);
    console.log(`TRANSPORT ${tr.label}: browser ${tr.local} (${tr.localType}) -> server ${tr.remote} (${tr.remoteType})` +
      ` srtp=${tr.srtpCipher} dtls=${tr.dtlsCipher}`);
    console.log(`stats: rtt rtcp=${fmtMs(stats.rttRtcpMs)} ice=${fmtMs(stats.rttIceMs)} jitter=${fmtMs(stats.jitterMs)} ` +
      `lost=${stats.packetsLost} received=${stats.packetsReceived} sent=${stats.packetsSent} ` +
      `bitrate out/in=${stats.bitrateOutKbps && stats.bitrateOutKbps.toFixed(0)}/${stats.bitrateInKbps && stats.bitrateInKbps.toFixed(0)} kbit/s` +
      ` levels mic=${levels.mic && levels.mic.toFixed(0)} dB return=${levels.ret && levels.ret.toFixed(0)} dB`);
    check(tr.label === 'UDP' && tr.protocol === 'udp', 'transport is UDP here', tr.label);
    check(stats.packetsReceived > 0 && stats.packetsSent > 0, 'packets flow both ways');
    const list = await serverSessions(base);
    console.log(`server sessions: ${JSON.stringify(list)}`);
    if (check(list.length === 1, 'the server lists one session')) {
      const srv = list[0];
      check(srv.mode === 'echo' && srv.packets_in > 0 && srv.packets_out > 0,
        'the server counts packets both ways in echo mode', `in=${srv.packets_in} out=${srv.packets_out}`);
      check(/udp/i.test(String(srv.transport)), 'the server reports UDP too', String(srv.transport));
    }
    if (args.screenshot) {
      await page.screenshot({ path: args.screenshot, fullPage: true });
      console.log(`screenshot: ${args.screenshot}`);
    }

    // 3. Reload while connected: the session is freed on the server.
    await page.reload();
    check(await vg(page, () => window.voxgate.state) === 'idle', 'after a reload the page is idle (no auto-start)');
    const e2 = await serverEmpty(base);
    check(e2.ok, 'reload frees the session on the server', JSON.stringify(e2.list));

    // 4. A DELETE that does not get through (network drop, killed tab) stays
    //    stored, and the tab's next load sends it again.
    await page.click('#toggle');
    check(await waitState(page, ['connected', 'failed'], 20000) === 'connected', 'one click connects after a reload');
    const live = await vg(page, () => window.voxgate.location);
    const isDel = (r) => r.method() === 'DELETE' && r.url() === live;
    await page.route('**/whip/**', (route) => (isDel(route.request()) ? route.abort() : route.continue()));
    quiet = /ERR_FAILED/;
    const dropped = page.waitForEvent('requestfailed', { predicate: isDel, timeout: 5000 });
    await page.click('#toggle');
    await dropped;
    await page.unroute('**/whip/**');
    quiet = null;
    const kept = await vg(page, () => sessionStorage.getItem('voxgate.session'));
    check(kept === live, 'a DELETE that failed leaves the session stored in the tab', String(kept));
    const again = page.waitForResponse((r) => isDel(r.request()), { timeout: 5000 });
    await page.reload(); // idle: pagehide has nothing to send, so this DELETE is the load's
    const res = await again.catch(() => null);
    check(res && (res.status() === 200 || res.status() === 404),
      'the next load DELETEs the stored session', res ? String(res.status()) : 'no DELETE');
    await page.waitForFunction(() => !sessionStorage.getItem('voxgate.session'), null, { timeout: 2000 }).catch(() => {});
    check(!(await vg(page, () => sessionStorage.getItem('voxgate.session'))), '... and forgets it once the server answered');
    const e4 = await serverEmpty(base);
    check(e4.ok, 'no session left on the server', JSON.stringify(e4.list));

    // 5. One click starts again; Stop frees the session.
    await page.click('#toggle');
    const st2 = await waitState(page, ['connected', 'failed'], 20000);
    check(st2 === 'connected', 'one click connects again', st2);
    await page.click('#toggle');
    check(await vg(page, () => window.voxgate.state) === 'idle', 'Stop: idle at once');
    const e3 = await serverEmpty(base);
    check(e3.ok, 'Stop frees the session on the server', JSON.stringify(e3.list));
  } finally {
    await ctx.close();
  }
}

main().then(() => {
  console.log(`RESULT passed=${passes} failed=${failures}`);
  process.exit(failures ? 1 : 0);
}, (e) => {
  console.error(`echo_browser: ${e.stack || e}`);
  console.log(`RESULT passed=${passes} failed=${failures + 1}`);
  process.exit(1);
});
