// Drives the voxgate page in Transcribe mode in headless Chromium (Debian's
// /usr/bin/chromium) against a running server, and checks the live
// transcript of the sentences the fake microphone plays. Run by
// transcribe_browser.sh inside the client network namespace; see that
// script for the set-up.
//
//   node transcribe_browser.mjs --url http://10.81.0.1:8080/?raw=1 \
//        --speech transcribe.wav --reference transcribe.txt \
//        --segments transcribe.segments --offline offline.json \
//        --tool vg_asr_offline --profile DIR [--token T] [--screenshot out.png]
//        [--events-log events.jsonl]
//
// Steps, through the page's own controls (window.voxgate only reads):
//   1. Pick Transcribe in the mode selector; a reload keeps it. The engine
//      from /healthz is shown.
//   2. One click on Start; let the WAV play through once (the fake
//      microphone loops it: Stop comes in the tail silence, before the
//      repeat), compare GET /whip/<id>/transcript with the page's finals,
//      then Stop and wait for the server's "done".
//   3. Checks: partials before the first final (and before each final);
//      finals in stream order with sane times; the streamed WER within
//      5 points of the same engine decoding the same audio offline
//      (vg_asr_offline, which also computes every WER: one
//      implementation); latency_ms of each final and their median; the
//      transcript kept on the page after Stop, Copy copies it; the session
//      gone from the server.
//   4. Start again (the old transcript is cleared) and Stop in the middle
//      of the second sentence: its final arrives after Stop, before "done",
//      and the page shows it.
// Prints the numbers and one line per check, then RESULT passed=N failed=M;
// exits non-zero when a check failed.

import { readFileSync, writeFileSync } from 'node:fs';
import { checkMidSentenceStop, checkWer, median } from './lib/asr.mjs';
import { readWav } from './lib/audio.mjs';
import { checker, launch, parseArgs, vg, waitFor, waitState } from './lib/browser.mjs';

const STOP_BEFORE_END_S = 0.5;  // Stop this long before the WAV ends (in its 2 s tail)
const DONE_TIMEOUT_MS = 10000;  // Stop -> "done"
const LATENCY_SANE_MS = 2000;   // a final later than this after the end of speech is a defect

const c = checker();
const check = c.check;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// GET /api/sessions with the bearer token (with --token it is as private
// as WHIP).
async function apiSessions(base, auth) {
  const r = await fetch(new URL('/api/sessions', base), { headers: auth });
  if (!r.ok) throw new Error(`GET /api/sessions: ${r.status}`);
  return r.json();
}

const ms = (x) => (x === null || x === undefined ? '—' : `${Number(x).toFixed(0)} ms`);

async function main() {
  const args = parseArgs(process.argv, ['url', 'speech', 'reference', 'segments', 'offline', 'tool', 'profile']);
  const base = new URL(args.url);
  const auth = args.token ? { Authorization: `Bearer ${args.token}` } : {};
  const reference = readFileSync(args.reference, 'utf8').trim().split('\n');
  const refText = reference.join(' ');
  // Where each sentence is in the WAV (seconds): "start end" per line.
  const segments = readFileSync(args.segments, 'utf8').trim().split('\n').map((l) => l.split(/\s+/).map(Number));
  const offline = JSON.parse(readFileSync(args.offline, 'utf8'));
  const wav = readWav(args.speech);
  const wavS = wav.samples.length / wav.rate;

  const ctx = await launch({ profile: args.profile, speech: args.speech, url: args.url, chromium: args.chromium });
  const events = []; // every event-stream message, as the browser received it
  try {
    await ctx.grantPermissions(['microphone', 'clipboard-read', 'clipboard-write'], { origin: base.origin }).catch(() => {});
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 404/.test(m.text())) console.log(`  [page] ${m.text()}`); });
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    const t0 = Date.now();
    page.on('websocket', (ws) => {
      const rec = (dir) => (f) => events.push({ t: Date.now() - t0, dir, url: ws.url(), data: String(f.payload) });
      ws.on('framereceived', rec('in'));
      ws.on('close', () => events.push({ t: Date.now() - t0, dir: 'close', url: ws.url() }));
      ws.on('socketerror', (e) => events.push({ t: Date.now() - t0, dir: 'error', url: ws.url(), data: String(e) }));
    });

    // 1. Mode and token, remembered across reloads; the engine shown.
    await page.goto(args.url);
    await page.selectOption('#mode', 'transcribe');
    if (args.token) {
      await page.click('details summary');
      await page.fill('#token', args.token);
      await page.dispatchEvent('#token', 'change');
    }
    await page.reload();
    check(await vg(page, () => window.voxgate.mode) === 'transcribe', 'Transcribe mode is remembered across a reload');
    check(await page.isVisible('#transcript-section') && !(await page.isVisible('.meter.ret')),
      'the transcript is shown in Transcribe mode (and the return meter is not)');
    await waitFor(page, () => window.voxgate.engine, 'the engine from /healthz', 5000);
    const engine = await vg(page, () => window.voxgate.engine);
    const engineShown = await page.textContent('#tr-engine');
    check(engine.engine === offline.engine && engineShown.includes(engine.engine) && engine.ready !== false,
      'the page shows the server\'s engine', `${engineShown} (${JSON.stringify(engine)})`);

    // 2. One click; the WAV plays through once; Stop in its tail.
    await page.click('#toggle');
    const st = await waitState(page, ['connected', 'failed'], 20000);
    const err = await vg(page, () => window.voxgate.error);
    if (!check(st === 'connected', 'one click connects in Transcribe mode', st + (err ? ` (${err.message})` : ''))) return;
    const tl = await vg(page, () => window.voxgate.timeline);
    await waitFor(page, () => window.voxgate.timeline.events, 'the transcript stream to open', 5000);
    const tl2 = await vg(page, () => window.voxgate.timeline);
    console.log(`timeline from POST: answer ${ms(tl.answer.fromPost)}, ice ${ms(tl.ice.fromPost)}, dtls ${ms(tl.dtls.fromPost)}, ` +
      `events open ${ms(tl2.events.fromPost)}; click to mic ${ms(tl.mic.fromClick)}`);
    const location = await vg(page, () => window.voxgate.location);

    // The fake microphone started its file when the page got the
    // microphone (timeline "mic"): stop in the tail of the first pass.
    const micAt = tl.mic.fromClick;
    const stopAt = micAt + (wavS - STOP_BEFORE_END_S) * 1000;
    let sessions = null;
    await waitUntilSinceClick(page, stopAt - 4000);
    sessions = await apiSessions(base, auth).catch(() => null);
    await waitUntilSinceClick(page, stopAt);

    const trp = await vg(page, () => window.voxgate.transport);
    const stats = await vg(page, () => window.voxgate.stats);
    console.log(`TRANSPORT ${trp && trp.label}: browser ${trp && trp.local} (${trp && trp.localType}) -> server ` +
      `${trp && trp.remote} (${trp && trp.remoteType}); packets sent ${stats && stats.packetsSent}, received ${stats && stats.packetsReceived}`);
    check(trp && trp.protocol === 'udp' && stats && stats.packetsSent > 0, 'media goes out over UDP', trp && trp.label);

    // (d) The transcript endpoint has the finals the page shows. Compare
    // until they agree (a final may land between the two reads).
    let server = null, pageFinals = null, same = false;
    for (let i = 0; i < 5 && !same; i++) {
      const r = await fetch(`${location}/transcript`, { headers: auth });
      server = r.ok ? await r.json() : { status: r.status, body: await r.text() };
      pageFinals = (await vg(page, () => window.voxgate.transcript)).finals;
      same = Array.isArray(server.finals) && server.finals.length === pageFinals.length &&
        server.finals.every((f, k) => f.text === pageFinals[k].text && f.start === pageFinals[k].start &&
          f.end === pageFinals[k].end && f.latency_ms === pageFinals[k].latency_ms);
      if (!same) await sleep(100);
    }
    console.log(`GET /whip/<id>/transcript: ${JSON.stringify(server)}`);
    check(same, 'GET /whip/<id>/transcript returns the finals the page shows',
      same ? `${pageFinals.length} finals` : `page ${JSON.stringify(pageFinals)}`);
    check(server && server.engine === offline.engine, 'the transcript names the engine', String(server && server.engine));

    await page.click('#toggle');
    const stoppedAt = Date.now();
    check(await vg(page, () => window.voxgate.state) === 'idle', 'Stop: idle at once');
    let done = true;
    await waitFor(page, () => window.voxgate.transcript.done, 'the server\'s "done" after Stop', DONE_TIMEOUT_MS)
      .catch((e) => { done = false; console.log(`  ${e.message}`); });
    const doneAfterMs = Date.now() - stoppedAt;
    check(done, 'the server sends "done" after Stop', done ? `${doneAfterMs} ms after the click` : 'never');
    await sleep(200); // the server's close after "done"

    // 3. What the page shows.
    const tr = await vg(page, () => window.voxgate.transcript);
    if (args.eventsLog) writeFileSync(args.eventsLog, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const msgs = events.filter((e) => e.dir === 'in').map((e) => ({ t: e.t, ...JSON.parse(e.data) }));
    console.log('events (ms since the page loaded, as received):');
    for (const m of msgs) {
      if (m.type === 'partial') continue;
      console.log(`  ${String(m.t).padStart(6)} ${JSON.stringify({ ...m, t: undefined })}`);
    }
    const finals = tr.finals.filter((f) => f.text);
    const hyp = finals.map((f) => f.text).join(' ');
    console.log(`reference:  ${refText}`);
    console.log(`streamed:   ${hyp}`);
    console.log(`offline:    ${offline.text}`);

    // (a) partials before the first final, and before each final.
    check(tr.partials_seen > 0 && tr.first_partial_at !== null && tr.first_final_at !== null &&
      tr.first_partial_at < tr.first_final_at, 'partial results appeared before the first final',
      `${tr.partials_seen} partials; first partial ${ms(tr.first_partial_at)}, first final ${ms(tr.first_final_at)} from the click`);
    const perUtt = [];
    let n = 0;
    for (const m of msgs) {
      if (m.type === 'partial' && m.text) n++;
      if (m.type === 'final') { if (m.text) perUtt.push(n); n = 0; }
    }
    check(perUtt.length > 0 && perUtt.every((k) => k > 0), 'every final was preceded by partials of its utterance',
      `partials per utterance: ${perUtt.join(', ')}`);

    // Finals in order, times sane, inside the audio sent; one per sentence.
    const ordered = tr.finals.every((f, k) => f.end >= f.start && f.start >= 0 &&
      (k === 0 || f.start >= tr.finals[k - 1].end - 0.05));
    check(ordered, 'finals arrive in stream order with start <= end, not overlapping',
      tr.finals.map((f) => `${f.start.toFixed(2)}-${f.end.toFixed(2)}`).join(' '));
    check(finals.length === reference.length, 'one final per sentence', `${finals.length} finals for ${reference.length} sentences`);
    check(!msgs.some((m) => m.type === 'error' || m.type === 'lag'), 'no error or lag event',
      JSON.stringify(msgs.filter((m) => m.type === 'error' || m.type === 'lag')));
    const states = msgs.filter((m) => m.type === 'state').map((m) => m.state);
    check(states.includes('connected') && states.includes('closed'), 'state events: connected ... closed', states.join(' → '));
    const doneIdx = msgs.findIndex((m) => m.type === 'done');
    check(doneIdx === msgs.length - 1, '"done" is the last message', `${msgs.length - 1 - doneIdx} after it`);
    const closed = events.some((e) => e.dir === 'close');
    check(closed && tr.stream === 'done', 'the event stream closes after "done"', `page stream state ${tr.stream}`);

    // (b) WER, streamed vs offline, with one implementation.
    checkWer(c, { tool: args.tool, refText, hyp, offlineText: offline.text });

    // (c) latency of each final: the server's latency_ms, and a witness
    // from the page's side: the sentence's end in the WAV (timeline "mic"
    // is when the file started) to the final shown.
    const lat = finals.map((f) => f.latency_ms);
    const shown = finals.length === segments.length
      ? finals.map((f, k) => f.shown_at - (micAt + segments[k][1] * 1000)) : [];
    console.log('finals: stream start-end, latency_ms (server), end of speech in the WAV -> shown (page):');
    finals.forEach((f, k) => console.log(`  ${f.start.toFixed(2)}-${f.end.toFixed(2)} s  ${ms(f.latency_ms).padStart(7)}  ` +
      `${shown.length ? ms(shown[k]).padStart(7) : '—'}  "${f.text}"`));
    const med = median(lat.filter(Number.isFinite));
    console.log(`LATENCY_MS finals=${lat.map((x) => (Number.isFinite(x) ? x.toFixed(0) : 'NaN')).join(',')} median=${med === null ? 'none' : med.toFixed(0)}` +
      ` shown_after_speech=${shown.map((x) => x.toFixed(0)).join(',')} shown_median=${shown.length ? median(shown).toFixed(0) : 'none'}`);
    console.log(`PARTIALS count=${tr.partials_seen} first_partial_ms=${tr.first_partial_at && tr.first_partial_at.toFixed(0)} ` +
      `first_final_ms=${tr.first_final_at && tr.first_final_at.toFixed(0)} mic_ms=${micAt.toFixed(0)} done_after_stop_ms=${doneAfterMs}`);
    check(lat.length > 0 && lat.every((x) => Number.isFinite(x) && x >= 0 && x < LATENCY_SANE_MS),
      `every final has a latency_ms in 0..${LATENCY_SANE_MS} ms`, lat.join(', '));

    // The page: finals kept after Stop, each with its latency; partial gone;
    // Copy gives the text.
    const dom = await vg(page, () => ({
      finals: [...document.querySelectorAll('#finals li.final')].map((li) => ({
        text: li.firstChild.textContent, lat: (li.querySelector('.lat') || {}).textContent || null })),
      partial: document.getElementById('partial').textContent,
      copyDisabled: document.getElementById('copy').disabled,
      status: document.getElementById('tr-state').textContent,
    }));
    check(dom.finals.length === finals.length && dom.finals.every((d, k) => d.text === finals[k].text && d.lat),
      'after Stop the page still shows every final with its latency', JSON.stringify(dom.finals));
    check(dom.partial === '', 'no partial left over after the last final', JSON.stringify(dom.partial));
    console.log(`transcript status line: ${dom.status}`);
    if (!dom.copyDisabled) {
      await page.click('#copy');
      await page.waitForFunction(() => document.getElementById('copy').textContent !== 'Copy', null, { timeout: 2000 }).catch(() => {});
      const copied = await vg(page, () => navigator.clipboard.readText()).catch((e) => `(clipboard unreadable: ${e.message})`);
      check(copied === finals.map((f) => f.text).join('\n'), 'Copy puts the finals on the clipboard', JSON.stringify(copied));
    } else {
      check(false, 'Copy is enabled when there is text');
    }
    if (args.screenshot) {
      await page.screenshot({ path: args.screenshot, fullPage: true });
      console.log(`screenshot: ${args.screenshot}`);
    }

    if (sessions) {
      console.log(`server sessions while transcribing: ${JSON.stringify(sessions)}`);
      const s0 = sessions[0];
      check(sessions.length === 1 && s0.mode === 'transcribe' && s0.asr && s0.asr.audio_s > 0,
        'the server lists the transcribe session with its recognizer stats', s0 && JSON.stringify(s0.asr));
    }
    const left = await apiSessions(base, auth);
    check(left.length === 0, 'no session left on the server', JSON.stringify(left));

    // 4. Stop in the middle of a sentence: that utterance's final comes
    //    after Stop (the server finishes it), before "done", and the page
    //    shows it. A new Start first clears the old transcript.
    await page.click('#toggle');
    const cleared = await vg(page, () => window.voxgate.transcript);
    check(cleared && cleared.finals.length === 0 && !cleared.done, 'Start clears the previous transcript');
    const st2 = await waitState(page, ['connected', 'failed'], 20000);
    if (!check(st2 === 'connected', 'one click connects again', st2)) return;
    const mic2 = (await vg(page, () => window.voxgate.timeline)).mic.fromClick;
    const [s1, e1] = segments[1];
    await waitUntilSinceClick(page, mic2 + (s1 + 0.6 * (e1 - s1)) * 1000);
    const loc2 = await vg(page, () => window.voxgate.location);
    await page.click('#toggle');
    const stopAt2 = await vg(page, () => window.voxgate.sinceClick());
    const stopT = Date.now() - t0;
    let done2 = true;
    await waitFor(page, () => window.voxgate.transcript.done, 'the server\'s "done" after a Stop mid-sentence', DONE_TIMEOUT_MS)
      .catch((e) => { done2 = false; console.log(`  ${e.message}`); });
    const tr2 = await vg(page, () => window.voxgate.transcript);
    const msgs2 = events.filter((e) => e.dir === 'in' && e.url.includes(new URL(loc2).pathname))
      .map((e) => ({ t: e.t, ...JSON.parse(e.data) }));
    console.log('mid-sentence Stop, events after the click (ms since the page loaded):');
    for (const m of msgs2.filter((x) => x.t >= stopT - 50)) console.log(`  ${String(m.t).padStart(6)} ${JSON.stringify({ ...m, t: undefined })}`);
    const shownLate = await vg(page, () => [...document.querySelectorAll('#finals li.final')].map((li) => li.firstChild.textContent));
    checkMidSentenceStop(c, { what: 'mid-sentence Stop', tr: tr2, msgs: msgs2, stopAt: stopAt2, sentence: reference[1], done: done2, shown: shownLate });
    const left2 = await apiSessions(base, auth);
    check(left2.length === 0, 'no session left on the server', JSON.stringify(left2));
  } finally {
    if (args.eventsLog && events.length) writeFileSync(args.eventsLog, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    await ctx.close();
  }
}

// Waits until `ms` since the Start click, on the page's clock.
async function waitUntilSinceClick(page, ms) {
  for (;;) {
    const left = await page.evaluate((target) => target - window.voxgate.sinceClick(), ms);
    if (left <= 0) return;
    await sleep(Math.min(left, 200));
  }
}

main().then(() => {
  console.log(`RESULT passed=${c.passes} failed=${c.failures}`);
  process.exit(c.failures ? 1 : 0);
}, (e) => {
  console.error(`transcribe_browser: ${e.stack || e}`);
  console.log(`RESULT passed=${c.passes} failed=${c.failures + 1}`);
  process.exit(1);
});
