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

import {
  parseArgs, checker, launch, vg, waitFor, waitState, serverSessions, serverEmpty,
  printTimeline, recordEcho, checkEcho, readTransport, PHASES,
} from './lib/browser.mjs';

const c = checker();
const check = c.check;

async function main() {
  const args = parseArgs(process.argv, ['url', 'speech', 'control', 'profile'], { recordS: 5 });
  args.recordS = Number(args.recordS);
  const base = new URL(args.url);
  const ctx = await launch({ profile: args.profile, speech: args.speech, url: args.url, chromium: args.chromium });
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
    await page.waitForFunction(() => window.voxgate.timeline.statsFirstPacket, null, { timeout: 2000 }).catch(() => {});
    printTimeline(await vg(page, () => window.voxgate.timeline));
    const missing = PHASES.filter((p) => !tl[p]);
    check(missing.length === 0, 'every timeline phase reported', missing.length ? 'missing ' + missing.join(',') : '');
    const afterPost = ['answer', 'ice', 'dtls', 'audio'];
    check(afterPost.every((p) => tl[p] && tl[p].fromPost >= 0), 'phases after the POST measured from it');
    console.log(`TIMELINE_FROM_POST answer=${tl.answer.fromPost.toFixed(1)} ice=${tl.ice.fromPost.toFixed(1)} ` +
      `dtls=${tl.dtls.fromPost.toFixed(1)} audio=${tl.audio.fromPost.toFixed(1)} click_to_post=${tl.post.fromClick.toFixed(1)}`);

    // The echo, recorded as the page plays it.
    await page.waitForTimeout(500); // let the jitter buffer settle
    checkEcho(c, await recordEcho(page, { speech: args.speech, control: args.control, seconds: args.recordS }));

    // Transport, stats and the server's view, after at least one stats round.
    const { tr, stats } = await readTransport(page);
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
  console.log(`RESULT passed=${c.passes} failed=${c.failures}`);
  process.exit(c.failures ? 1 : 0);
}, (e) => {
  console.error(`echo_browser: ${e.stack || e}`);
  console.log(`RESULT passed=${c.passes} failed=${c.failures + 1}`);
  process.exit(1);
});
