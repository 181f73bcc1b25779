// Drives the voxgate page in headless Chromium (Debian's /usr/bin/chromium)
// through an HTTP-only reverse proxy (nginx) that cannot carry WebRTC's
// media: the page must switch to the WebSocket audio path by itself. Run by
// ws_fallback.sh inside the client network namespace; see that script for
// the set-up.
//
//   node ws_fallback.mjs --url http://PROXY/?raw=1 --speech speech.wav --control control.wav
//        --tr-speech transcribe.wav --reference transcribe.txt --segments transcribe.segments
//        --offline offline.json --tool vg_asr_offline --profile DIR
//        [--fallback-ms N|none] [--proxied 0|1] [--screenshot out.png]
//
// Steps, each through the page's own button (window.voxgate only reads):
//   1. Echo, one click: the page tries WebRTC, falls back by itself when ICE
//      has not connected within the fallback time, and reports the
//      WebSocket (Opus) transport and why; Start → first audio back under
//      3 s; the WHIP session was DELETEd (the server lists one session, the
//      WebSocket one); the echo, recorded as the page plays it, carries the
//      speech and not the control sentence (lib/audio.mjs, TESTING.md's
//      thresholds); Stop frees the session.
//   2. Stop during the WebRTC attempt: idle at once, no fallback afterwards,
//      no session left; Stop in the hand-over (switched, socket not ready):
//      the same.
//   3. Reload while on the WebSocket: the session ends.
//   4. Echo with ?codec=pcm16: PCM16 from an AudioWorklet, the same checks.
//   5. ?transport=ws (no WebRTC attempt); the offer POST failing (the
//      switch comes at once); a browser without WebCodecs (PCM by itself);
//      ?transport=webrtc (never falls back).
//   6. Transcribe (a second browser, flite speech): through the same
//      fallback, the finals carry the sentences (WER within 5 points of the
//      same engine offline, and the key words), "done" after Stop; then a
//      Stop in the middle of a sentence: that sentence's final comes after
//      Stop and before "done", and the page shows it.
// Prints the numbers and one line per check, then RESULT passed=N failed=M;
// exits non-zero when a check failed.

import { readFileSync, writeFileSync } from 'node:fs';
import { checkMidSentenceStop, checkWer, keyWords, KEYWORD_SHARE } from './lib/asr.mjs';
import { readWav } from './lib/audio.mjs';
import {
  parseArgs, checker, launch, vg, waitFor, waitState, serverSessions, serverEmpty,
  recordEcho, checkEcho, fmtMs,
} from './lib/browser.mjs';

const FIRST_AUDIO_MAX_MS = 3000;   // Start → first audio back, the WebRTC attempt included (issue 6)
const CONNECT_WAIT_MS = 15000;
const STOP_BEFORE_END_S = 0.5;     // transcribe: Stop this long before the WAV ends (in its tail)
const DONE_TIMEOUT_MS = 10000;

const c = checker();
const check = c.check;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The phases of a WebSocket session's timeline, in order.
const WS_PHASES = ['mic', 'offer', 'post', 'answer', 'fallback', 'ws', 'ready', 'audio', 'events'];

function printWsTimeline(tl) {
  console.log('timeline (ms from click / from POST):');
  for (const p of WS_PHASES) {
    if (!tl[p]) continue;
    console.log(`  ${p.padEnd(8)} ${fmtMs(tl[p].fromClick).padStart(8)}  ${fmtMs(tl[p].fromPost).padStart(8)}`);
  }
}

const gap = (tl, a, b) => (tl[a] && tl[b] ? (tl[b].fromClick - tl[a].fromClick).toFixed(0) : 'none');

// Start (one click) on the page as it is, until connected or failed; the
// page's view afterwards.
async function startAndRead(page) {
  await page.click('#toggle');
  const st = await waitState(page, ['connected', 'failed'], CONNECT_WAIT_MS);
  const v = await vg(page, () => ({
    via: window.voxgate.via, transport: window.voxgate.transport, timeline: window.voxgate.timeline,
    error: window.voxgate.error, proxied: window.voxgate.proxied, wsId: window.voxgate.wsId,
    shown: document.getElementById('transport').textContent, why: document.getElementById('transport-why').textContent,
  }));
  return { st, ...v };
}

// The server's sessions while one WebSocket session should be live: exactly
// that one (the WHIP attempt's session is gone).
async function checkOneWsSession(base, mode, codec, what) {
  const list = await serverSessions(base);
  console.log(`server sessions: ${JSON.stringify(list)}`);
  const s0 = list[0];
  check(list.length === 1 && /websocket/i.test(String(s0.transport)) && s0.mode === mode,
    `${what}: the server lists one session, the WebSocket one (the WHIP attempt was DELETEd)`,
    list.map((s) => `${s.mode}/${s.transport}`).join(', ') || 'none');
  if (s0 && mode === 'echo') {
    check(s0.packets_in > 0 && s0.packets_out > 0, `${what}: the server counts messages both ways`,
      `in=${s0.packets_in} out=${s0.packets_out}${s0.codec ? ` codec=${s0.codec}` : ''}`);
  }
  if (s0 && s0.codec !== undefined) check(s0.codec === codec, `${what}: the server has the page's codec`, String(s0.codec));
  return list;
}

async function printWsStats(page) {
  const st = await vg(page, () => window.voxgate.stats);
  const lv = await vg(page, () => window.voxgate.levels);
  if (!st) return { st, lv };
  console.log(`stats: ping rtt=${fmtMs(st.rttWsMs)} echo=${fmtMs(st.echoMs)} jitter=${fmtMs(st.jitterMs)} ` +
    `sent=${st.packetsSent} received=${st.packetsReceived} dropped=${st.dropped} ` +
    `bitrate out/in=${st.bitrateOutKbps && st.bitrateOutKbps.toFixed(0)}/${st.bitrateInKbps && st.bitrateInKbps.toFixed(0)} kbit/s ` +
    `play buffer=${fmtMs(st.playBufferMs)} underruns=${st.underruns} ` +
    `levels mic=${lv.mic && lv.mic.toFixed(0)} dB return=${lv.ret && lv.ret.toFixed(0)} dB`);
  return { st, lv };
}

// One echo session through the fallback with the page at `url`: codec
// 'opus' or 'pcm16'. Returns the figures.
async function echoThroughFallback(page, args, url, codec, { screenshot = null } = {}) {
  const base = new URL(url);
  const label = codec === 'opus' ? 'WebSocket (Opus)' : 'WebSocket (PCM)';
  const what = `echo ${codec}`;
  const whipDeletes = [];
  const onResp = (r) => {
    if (r.request().method() === 'DELETE' && /\/whip\//.test(r.url())) whipDeletes.push(r.status());
  };
  page.on('response', onResp);
  await page.goto(url);
  const v = await startAndRead(page);
  if (!check(v.st === 'connected', `${what}: one click connects through the proxy`,
    v.st + (v.error ? ` (${v.error.message})` : ''))) {
    page.off('response', onResp);
    return null;
  }
  check(v.via === 'websocket' && v.transport && v.transport.reason === 'timeout',
    `${what}: the page fell back to the WebSocket by itself (ICE did not connect in time)`,
    `${v.via}, reason ${v.transport && v.transport.reason}`);
  check(v.transport.label === label && v.shown.startsWith(label), `${what}: the page shows the transport "${label}"`, v.shown);
  console.log(`why: ${v.why}`);
  const fbMs = args.fallbackMs === 'none' ? 2000 : Number(args.fallbackMs);
  check(v.why.includes(`ICE did not connect within ${fbMs / 1000} s`), `${what}: the page says why (ICE, ${fbMs} ms)`);
  if (args.fallbackMs !== 'none') {
    check(v.transport.fallbackMs === fbMs && v.transport.fallbackFrom === 'server',
      `${what}: the fallback time came from the server (X-Voxgate-Fallback-Ms through the proxy)`,
      `${v.transport.fallbackMs} ms from ${v.transport.fallbackFrom}`);
  }
  if (args.proxied === '1') {
    check(v.proxied && /came through a proxy/.test(v.why), `${what}: the page mentions the proxy (X-Voxgate-Proxied)`);
  }
  if (codec === 'pcm16') {
    check(v.transport.codec === 'pcm16' && v.transport.codecReason === 'forced' && /16-bit PCM/.test(v.why),
      `${what}: PCM16 at the AudioContext's rate, as ?codec=pcm16 asked`, `${v.transport.sampleRate} Hz`);
  } else {
    check(v.transport.codec === 'opus' && v.transport.sampleRate === 48000 && v.transport.codecReason === 'webcodecs',
      `${what}: Opus from WebCodecs at 48 kHz`, `${v.transport.codec} ${v.transport.sampleRate} Hz (${v.transport.codecReason})`);
  }

  await waitFor(page, () => window.voxgate.timeline.audio, 'the first audio back', 5000);
  const tl = await vg(page, () => window.voxgate.timeline);
  printWsTimeline(tl);
  const first = tl.audio.fromClick;
  console.log(`FALLBACK_TIMING codec=${codec} click_to_post=${gap(tl, 'mic', 'post')}+${tl.mic.fromClick.toFixed(0)} ` +
    `post_to_fallback=${gap(tl, 'post', 'fallback')} fallback_to_ws_open=${gap(tl, 'fallback', 'ws')} ` +
    `ws_open_to_ready=${gap(tl, 'ws', 'ready')} ready_to_first_audio=${gap(tl, 'ready', 'audio')} ` +
    `start_to_first_audio=${first.toFixed(0)}`);
  check(first < FIRST_AUDIO_MAX_MS, `${what}: Start → first audio back under ${FIRST_AUDIO_MAX_MS} ms`, `${first.toFixed(0)} ms`);
  check(tl.answer && tl.fallback && tl.fallback.fromPost >= fbMs - 5 && tl.fallback.fromPost < fbMs + 300,
    `${what}: the switch came at the fallback time after the POST`, tl.fallback && `${tl.fallback.fromPost.toFixed(0)} ms`);
  check(whipDeletes.length === 1 && whipDeletes[0] === 200, `${what}: the WHIP session was DELETEd (200) on the switch`,
    whipDeletes.join(', ') || 'no DELETE');
  await checkOneWsSession(base, 'echo', codec, what);

  await page.waitForTimeout(300); // the jitter buffer settles
  const rec = await recordEcho(page, { speech: args.speech, control: args.control, seconds: Number(args.recordS) });
  checkEcho(c, rec);
  if (process.env.VOXGATE_E2E_SAVE_REC) {
    // The echo as analysed (mono float32 at ANALYSIS_RATE), for offline study.
    const f = `${process.env.VOXGATE_E2E_SAVE_REC}/ws-${codec}-${process.pid}.f32`;
    writeFileSync(f, Buffer.from(rec.recorded.buffer));
    console.log(`recording saved: ${f}`);
  }
  const { st } = await printWsStats(page);
  check(st && st.packetsSent > 0 && st.packetsReceived > 0 && st.rttWsMs !== null,
    `${what}: messages flow both ways; the ping gives a round trip`, st && `${st.packetsSent}/${st.packetsReceived}`);
  // The meter shows the level now: wait for speech (the sentence loops).
  let loud = true;
  await waitFor(page, () => window.voxgate.levels.ret > -40, 'the return meter above -40 dB', 4000).catch(() => { loud = false; });
  const ret = (await vg(page, () => window.voxgate.levels)).ret;
  check(loud, `${what}: the return meter shows the echo (above -40 dB while the sentence plays)`,
    ret === null ? 'no level' : `${ret.toFixed(0)} dB`);
  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
  }
  await page.click('#toggle');
  check(await vg(page, () => window.voxgate.state) === 'idle', `${what}: Stop: idle at once`);
  const e = await serverEmpty(base);
  check(e.ok, `${what}: Stop frees the session on the server`, JSON.stringify(e.list));
  page.off('response', onResp);
  return { first, speech: rec.right.median, control: rec.control.median, tl, st };
}

async function echoPart(args) {
  const base = new URL(args.url);
  const ctx = await launch({ profile: `${args.profile}/echo`, speech: args.speech, url: args.url, chromium: args.chromium });
  const figures = {};
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 404/.test(m.text())) console.log(`  [page] ${m.text()}`); });
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    let sockets = 0;
    page.on('websocket', (ws) => { if (ws.url().includes('/ws/audio')) sockets++; });

    // 1. Echo, Opus (WebCodecs).
    figures.opus = await echoThroughFallback(page, args, args.url, 'opus', { screenshot: args.screenshot });

    // 2. Stop during the WebRTC attempt (after the answer, before the
    //    fallback time): idle at once and it stays so; no WebSocket opens.
    await page.goto(args.url);
    const before = sockets;
    await page.click('#toggle');
    await waitFor(page, () => window.voxgate.timeline.answer, 'the WHIP answer', 5000);
    await page.click('#toggle');
    check(await vg(page, () => window.voxgate.state) === 'idle', 'Stop during the WebRTC attempt: idle at once');
    await sleep((args.fallbackMs === 'none' ? 2000 : Number(args.fallbackMs)) + 500);
    const after = await vg(page, () => ({ state: window.voxgate.state, via: window.voxgate.via }));
    check(after.state === 'idle' && after.via === 'webrtc' && sockets === before,
      'Stop during the WebRTC attempt: no fallback after it', `${after.state}, ${after.via}, ${sockets - before} sockets`);
    const e2 = await serverEmpty(base);
    check(e2.ok, 'Stop during the WebRTC attempt: no session left on the server', JSON.stringify(e2.list));

    // 2b. Stop in the hand-over (the switch made, the WebSocket not yet
    //     ready): idle at once, nothing left on the server.
    // (In the page: the hand-over lasts tens of ms.)
    const h = await page.evaluate(async () => {
      const btn = document.getElementById('toggle');
      btn.click();
      const t0 = performance.now();
      while (!window.voxgate.timeline.fallback && performance.now() - t0 < 5000) {
        await new Promise((r) => setTimeout(r, 0));
      }
      const switched = !!window.voxgate.timeline.fallback, ready = !!window.voxgate.timeline.ready;
      btn.click();
      return { switched, ready, state: window.voxgate.state };
    });
    check(h.switched && !h.ready && h.state === 'idle', 'Stop in the hand-over to the WebSocket: idle at once',
      JSON.stringify(h));
    await sleep(300);
    check(await vg(page, () => window.voxgate.state) === 'idle', 'Stop in the hand-over: stays idle');
    const e2b = await serverEmpty(base);
    check(e2b.ok, 'Stop in the hand-over: no session left on the server (neither WHIP nor WebSocket)', JSON.stringify(e2b.list));

    // 3. Reload while on the WebSocket: the session ends with the page.
    const v3 = await startAndRead(page);
    check(v3.st === 'connected' && v3.via === 'websocket', 'Start again: connected over the WebSocket', `${v3.st} ${v3.via}`);
    await page.reload();
    check(await vg(page, () => window.voxgate.state) === 'idle', 'after a reload the page is idle (no auto-start)');
    const e3 = await serverEmpty(base);
    check(e3.ok, 'reload ends the WebSocket session on the server', JSON.stringify(e3.list));

    // 4. Echo, PCM16 (AudioWorklet).
    const pcmUrl = new URL(args.url);
    pcmUrl.searchParams.set('codec', 'pcm16');
    figures.pcm = await echoThroughFallback(page, args, pcmUrl.href, 'pcm16');

    // 5. ?transport=ws: straight to the WebSocket, no WHIP POST.
    const wsUrl = new URL(args.url);
    wsUrl.searchParams.set('transport', 'ws');
    await page.goto(wsUrl.href);
    const v5 = await startAndRead(page);
    if (check(v5.st === 'connected' && v5.via === 'websocket' && v5.transport.reason === 'forced' && !v5.timeline.post,
      '?transport=ws: the WebSocket at once, no WebRTC attempt', `${v5.st} ${v5.via} ${v5.transport && v5.transport.reason}`)) {
      await waitFor(page, () => window.voxgate.timeline.audio, 'the first audio back', 5000);
      const tl5 = await vg(page, () => window.voxgate.timeline);
      figures.forcedFirstAudio = tl5.audio.fromClick;
      console.log(`FORCED_WS start_to_ws_open=${tl5.ws.fromClick.toFixed(0)} start_to_ready=${tl5.ready.fromClick.toFixed(0)} ` +
        `start_to_first_audio=${tl5.audio.fromClick.toFixed(0)}`);
      check(/\?transport=ws/.test(v5.why), '?transport=ws: the page says why', v5.why);
    }
    await page.click('#toggle');
    const e5 = await serverEmpty(base);
    check(e5.ok, '?transport=ws: Stop frees the session', JSON.stringify(e5.list));

    // 5b. The offer POST fails (the test refuses it, as a proxy that does
    //     not pass /whip would): the page switches at once.
    await page.goto(args.url);
    const isPost = (u) => u.pathname === '/whip';
    await page.route(isPost, (route) => route.abort('connectionrefused'));
    const v5b = await startAndRead(page);
    await page.unroute(isPost);
    if (check(v5b.st === 'connected' && v5b.via === 'websocket' && v5b.transport.reason === 'post',
      'the offer POST fails: the page switches to the WebSocket at once', `${v5b.st} ${v5b.via} ${v5b.transport && v5b.transport.reason}`)) {
      await waitFor(page, () => window.voxgate.timeline.audio, 'the first audio back', 5000);
      const tl5b = await vg(page, () => window.voxgate.timeline);
      figures.postFailedFirstAudio = tl5b.audio.fromClick;
      console.log(`POST_FAILED start_to_fallback=${tl5b.fallback.fromClick.toFixed(0)} start_to_first_audio=${tl5b.audio.fromClick.toFixed(0)}`);
      check(/The WebRTC offer failed/.test(v5b.why) && tl5b.audio.fromClick < 1000,
        'the offer POST fails: the page says so, and the audio is back within 1 s', v5b.why.split('.')[0]);
    }
    await page.click('#toggle');
    const e5b = await serverEmpty(base);
    check(e5b.ok, 'the offer POST fails: Stop frees the session', JSON.stringify(e5b.list));

    // 5c. A browser without WebCodecs (hidden from the page before its
    //     script runs): the page picks PCM by itself and says why.
    const bare = await ctx.newPage();
    await bare.addInitScript(() => { delete window.AudioEncoder; delete window.AudioDecoder; });
    await bare.goto(wsUrl.href);
    const v5c = await startAndRead(bare);
    check(v5c.st === 'connected' && v5c.transport && v5c.transport.label === 'WebSocket (PCM)' &&
      v5c.transport.codecReason === 'no-webcodecs' && /no WebCodecs Opus encoder/.test(v5c.why),
      'no WebCodecs in the browser: the page sends PCM by itself and says why',
      `${v5c.st} ${v5c.transport && v5c.transport.label} (${v5c.transport && v5c.transport.codecReason})`);
    await waitFor(bare, () => window.voxgate.timeline.audio, 'the first audio back (PCM)', 5000).then(
      () => check(true, 'no WebCodecs: the echo comes back'),
      (e) => check(false, 'no WebCodecs: the echo comes back', e.message));
    await bare.click('#toggle');
    await bare.close();
    const e5c = await serverEmpty(base);
    check(e5c.ok, 'no WebCodecs: Stop frees the session', JSON.stringify(e5c.list));

    // 6. ?transport=webrtc: never falls back (still trying after the
    //    fallback time), Stop frees the WHIP session.
    const rtcUrl = new URL(args.url);
    rtcUrl.searchParams.set('transport', 'webrtc');
    await page.goto(rtcUrl.href);
    const before6 = sockets;
    await page.click('#toggle');
    await sleep((args.fallbackMs === 'none' ? 2000 : Number(args.fallbackMs)) + 800);
    const v6 = await vg(page, () => ({ state: window.voxgate.state, via: window.voxgate.via }));
    check(v6.state === 'starting' && v6.via === 'webrtc' && sockets === before6,
      '?transport=webrtc: no fallback (still trying WebRTC after the fallback time)', `${v6.state} ${v6.via}`);
    await page.click('#toggle');
    const e6 = await serverEmpty(base);
    check(e6.ok, '?transport=webrtc: Stop frees the WHIP session', JSON.stringify(e6.list));
  } finally {
    await ctx.close();
  }
  return figures;
}

// Waits until `ms` since the Start click, on the page's clock.
async function waitUntilSinceClick(page, ms) {
  for (;;) {
    const left = await page.evaluate((target) => target - window.voxgate.sinceClick(), ms);
    if (left <= 0) return;
    await sleep(Math.min(left, 200));
  }
}

async function transcribePart(args) {
  const base = new URL(args.url);
  const reference = readFileSync(args.reference, 'utf8').trim().split('\n');
  const refText = reference.join(' ');
  const offline = JSON.parse(readFileSync(args.offline, 'utf8'));
  const segments = readFileSync(args.segments, 'utf8').trim().split('\n').map((l) => l.split(/\s+/).map(Number));
  const wav = readWav(args.trSpeech);
  const wavS = wav.samples.length / wav.rate;
  const ctx = await launch({ profile: `${args.profile}/tr`, speech: args.trSpeech, url: args.url, chromium: args.chromium });
  const figures = {};
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 404/.test(m.text())) console.log(`  [page] ${m.text()}`); });
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    const msgs = []; // the JSON text the server sent on /ws/audio
    let closedAt = null;
    page.on('websocket', (ws) => {
      if (!ws.url().includes('/ws/audio')) return;
      ws.on('framereceived', (f) => {
        if (typeof f.payload !== 'string') return;
        try { msgs.push(JSON.parse(f.payload)); } catch { /* not JSON */ }
      });
      ws.on('close', () => { closedAt = Date.now(); });
    });
    await page.goto(args.url);
    await page.selectOption('#mode', 'transcribe');
    const v = await startAndRead(page);
    if (!check(v.st === 'connected', 'transcribe: one click connects through the proxy',
      v.st + (v.error ? ` (${v.error.message})` : ''))) return figures;
    check(v.via === 'websocket' && v.transport.reason === 'timeout' && v.transport.label === 'WebSocket (Opus)',
      'transcribe: the page fell back to the WebSocket (Opus) by itself', `${v.via} ${v.transport && v.transport.label}`);
    const tl = v.timeline;
    printWsTimeline(tl);
    check(tl.events && tl.ready && tl.events.fromClick >= tl.ready.fromClick,
      'transcribe: the transcript rides the audio WebSocket (from its "ready" on)');

    // The fake microphone started its file at "mic": stop in the tail of
    // the first pass.
    const micAt = tl.mic.fromClick;
    const stopAt = micAt + (wavS - STOP_BEFORE_END_S) * 1000;
    await waitUntilSinceClick(page, stopAt - 3000);
    const list = await serverSessions(base);
    console.log(`server sessions while transcribing: ${JSON.stringify(list)}`);
    const s0 = list[0];
    check(list.length === 1 && /websocket/i.test(String(s0.transport)) && s0.mode === 'transcribe' && s0.asr && s0.asr.audio_s > 0,
      'transcribe: the server lists one session, the WebSocket one, with its recognizer stats',
      list.map((s) => `${s.mode}/${s.transport}`).join(', '));
    await waitUntilSinceClick(page, stopAt);
    await page.click('#toggle');
    const stoppedAt = Date.now();
    check(await vg(page, () => window.voxgate.state) === 'idle', 'transcribe: Stop: idle at once');
    let done = true;
    await waitFor(page, () => window.voxgate.transcript.done, 'the server\'s "done" after Stop', DONE_TIMEOUT_MS)
      .catch((e) => { done = false; console.log(`  ${e.message}`); });
    check(done, 'transcribe: the server sends "done" after Stop', done ? `${Date.now() - stoppedAt} ms after the click` : 'never');
    await sleep(300);
    const tr = await vg(page, () => window.voxgate.transcript);
    for (const m of msgs) if (m.type !== 'partial' && m.type !== 'pong') console.log(`  ${JSON.stringify(m)}`);
    const finals = tr.finals.filter((f) => f.text);
    const hyp = finals.map((f) => f.text).join(' ');
    console.log(`reference:  ${refText}`);
    console.log(`streamed:   ${hyp}`);
    console.log(`offline:    ${offline.text}`);
    check(finals.length === reference.length, 'transcribe: one final per sentence', `${finals.length} for ${reference.length}`);
    check(tr.partials_seen > 0, 'transcribe: partial results were shown', `${tr.partials_seen}`);
    const w = checkWer(c, { tool: args.tool, refText, hyp, offlineText: offline.text });
    figures.wer = w.streamed.wer;
    const kw = keyWords(refText, hyp);
    check(kw.missing.length <= (1 - KEYWORD_SHARE) * kw.words.length,
      `transcribe: the key words are in the transcript (${kw.words.length - kw.missing.length}/${kw.words.length})`,
      kw.missing.length ? `missing ${kw.missing.join(' ')}` : '');
    const lat = finals.map((f) => f.latency_ms);
    console.log(`LATENCY_MS finals=${lat.map((x) => (Number.isFinite(x) ? x.toFixed(0) : 'NaN')).join(',')}`);
    check(lat.length > 0 && lat.every((x) => Number.isFinite(x) && x >= 0), 'transcribe: every final has its latency_ms');
    check(!msgs.some((m) => m.type === 'error' || m.type === 'lag'), 'transcribe: no error or lag event');
    const doneIdx = msgs.findIndex((m) => m.type === 'done');
    check(doneIdx >= 0 && msgs.slice(doneIdx + 1).every((m) => m.type === 'pong'), '"done" is the server\'s last message',
      doneIdx < 0 ? 'no done' : `${msgs.length - 1 - doneIdx} after it`);
    check(closedAt !== null, 'transcribe: the server closes the WebSocket after "done"');
    const shown = await vg(page, () => [...document.querySelectorAll('#finals li.final')].map((li) => li.firstChild.textContent));
    check(shown.length === finals.length && shown.every((t, k) => t === finals[k].text),
      'transcribe: the page shows every final after Stop', JSON.stringify(shown));
    const e = await serverEmpty(base);
    check(e.ok, 'transcribe: no session left on the server', JSON.stringify(e.list));

    // Stop in the middle of a sentence, on the WebSocket: the server
    // finishes that utterance ({"type":"stop"} flushes the recognizer), so
    // its final comes after Stop and before "done", and the page shows it.
    msgs.length = 0;
    closedAt = null;
    const v2 = await startAndRead(page);
    if (!check(v2.st === 'connected' && v2.via === 'websocket', 'mid-sentence Stop: one click connects through the fallback again',
      `${v2.st} ${v2.via}`)) return figures;
    const [s1, e1] = segments[1];
    await waitUntilSinceClick(page, v2.timeline.mic.fromClick + (s1 + 0.6 * (e1 - s1)) * 1000);
    await page.click('#toggle');
    const stopAt2 = await vg(page, () => window.voxgate.sinceClick());
    let done2 = true;
    await waitFor(page, () => window.voxgate.transcript.done, 'the server\'s "done" after a Stop mid-sentence', DONE_TIMEOUT_MS)
      .catch((err) => { done2 = false; console.log(`  ${err.message}`); });
    const tr2 = await vg(page, () => window.voxgate.transcript);
    console.log('mid-sentence Stop, what the server sent (partials left out):');
    for (const m of msgs) if (m.type !== 'partial' && m.type !== 'pong') console.log(`  ${JSON.stringify(m)}`);
    const shown2 = await vg(page, () => [...document.querySelectorAll('#finals li.final')].map((li) => li.firstChild.textContent));
    checkMidSentenceStop(c, { what: 'mid-sentence Stop', tr: tr2, msgs, stopAt: stopAt2, sentence: reference[1], done: done2, shown: shown2 });
    const e2 = await serverEmpty(base);
    check(e2.ok, 'mid-sentence Stop: no session left on the server', JSON.stringify(e2.list));
  } finally {
    await ctx.close();
  }
  return figures;
}

async function main() {
  const args = parseArgs(process.argv,
    ['url', 'speech', 'control', 'trSpeech', 'reference', 'segments', 'offline', 'tool', 'profile'],
    { recordS: 5, fallbackMs: 'none', proxied: '0' });
  const echo = await echoPart(args);
  const tr = await transcribePart(args);
  const f = (x) => (x === undefined || x === null ? 'none' : x.toFixed(0));
  const r = (x) => (x === undefined || x === null ? 'none' : x.toFixed(3));
  console.log(`WS_FALLBACK opus_first_audio_ms=${f(echo.opus && echo.opus.first)} opus_speech=${r(echo.opus && echo.opus.speech)} ` +
    `opus_control=${r(echo.opus && echo.opus.control)} pcm_first_audio_ms=${f(echo.pcm && echo.pcm.first)} ` +
    `pcm_speech=${r(echo.pcm && echo.pcm.speech)} pcm_control=${r(echo.pcm && echo.pcm.control)} ` +
    `forced_ws_first_audio_ms=${f(echo.forcedFirstAudio)} post_failed_first_audio_ms=${f(echo.postFailedFirstAudio)} ` +
    `transcribe_wer=${r(tr.wer)}`);
}

main().then(() => {
  console.log(`RESULT passed=${c.passes} failed=${c.failures}`);
  process.exit(c.failures ? 1 : 0);
}, (e) => {
  console.error(`ws_fallback: ${e.stack || e}`);
  console.log(`RESULT passed=${c.passes} failed=${c.failures + 1}`);
  process.exit(1);
});
