// One reachability set-up, seen from the browser: the voxgate page in
// headless Chromium connects RUNS times (a fresh page load each time, one
// click on Start), and each time the echo must carry the speech and the
// selected candidate pair must be the one the set-up expects. Run by
// reachability.sh inside the set-up's client namespace.
//
//   node reach_browser.mjs --setup b --url http://10.79.20.1:8080/?raw=1 \
//        --speech speech.wav --control control.wav --profile DIR [--runs 1]
//        [--record-s 5] [--protocol udp|tcp] [--remote IP:PORT]
//        [--local-ip IP] [--local-type host|prflx|...] [--server-remote-ip IP]
//        [--first-candidate IP] [--max-connected-ms MS] [--median 0.6] [--margin 0.3]
//        [--window-s 0.5] [--self-signed 1]
//
// --protocol / --remote: the selected pair's protocol and the server
// candidate it uses (getStats, as the page shows it); --local-ip /
// --local-type: the browser's side of that pair (behind NAT: the
// peer-reflexive address the server's XOR-MAPPED-ADDRESS taught it);
// --server-remote-ip:
// the address the server saw the browser at (/api/sessions "remote");
// --first-candidate: the first candidate address in the answer SDP;
// --max-connected-ms: the page's "DTLS connected" mark, from the POST;
// --record-s / --window-s / --median / --margin: the echo rule (how long
// to record, the correlation window, the thresholds; lib/browser.mjs);
// --self-signed 1: accept the server's self-signed certificate (an https
// page: no insecure-origin flag is given, the page must be a secure
// context by itself).
//
// Prints, per run, the checks, then one line
//   RUN {"setup","run","ok","answer","ice","dtls","audio",...}
// (ms from the offer POST) for reachability.sh's table, and at the end
// RESULT passed=N failed=M. On a failed connection it prints what the
// browser saw: every candidate pair with its state, and the answer's
// candidates.

import { writeFileSync } from 'node:fs';
import {
  parseArgs, checker, launch, vg, waitFor, waitState, serverSessions, serverEmpty,
  printTimeline, recordEcho, checkEcho, readTransport, PASS_MEDIAN, PASS_MARGIN,
} from './lib/browser.mjs';
import { WINDOW_S } from './lib/audio.mjs';

const args = parseArgs(process.argv, ['setup', 'url', 'speech', 'control', 'profile'],
  { runs: 1, recordS: 5, windowS: WINDOW_S, median: PASS_MEDIAN, margin: PASS_MARGIN });
for (const k of ['runs', 'recordS', 'windowS', 'median', 'margin']) args[k] = Number(args[k]);
if (args.maxConnectedMs !== undefined) args.maxConnectedMs = Number(args.maxConnectedMs);
const base = new URL(args.url);
const total = checker(`[${args.setup}] `);
let api = null; // the browser context's request API (shares its TLS settings)

// Test-only instrumentation, installed before the page's script: keep every
// RTCPeerConnection the page makes, so a failed run can dump getStats'
// candidate pairs (chrome://webrtc-internals does not exist headless).
// It also timestamps the offer POST and the peer connection's ICE events,
// so each run can show where the time to "ICE connected" went.
function keepPeerConnections() {
  const Orig = window.RTCPeerConnection;
  window.__vgPcs = [];
  window.__vgTrace = [];
  const ev = (what) => window.__vgTrace.push([performance.now(), what]);
  const origFetch = window.fetch;
  window.fetch = function (url, init) {
    if (init && init.method === 'POST') ev('POST');
    return origFetch.apply(this, arguments);
  };
  window.RTCPeerConnection = function (...a) {
    const pc = new Orig(...a);
    window.__vgPcs.push(pc);
    window.__vgTrace = [];
    pc.addEventListener('icecandidate', (e) => ev(e.candidate
      ? `local ${e.candidate.type} ${e.candidate.protocol}${e.candidate.tcpType ? '/' + e.candidate.tcpType : ''}`
      : 'gathering done'));
    pc.addEventListener('iceconnectionstatechange', () => ev(`ice ${pc.iceConnectionState}`));
    pc.addEventListener('connectionstatechange', () => ev(`pc ${pc.connectionState}`));
    const origSrd = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (d) => { ev('answer applied'); return origSrd(d); };
    return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Orig);
}

// Every candidate pair of the page's last peer connection, with its state.
async function candidatePairs(page) {
  return page.evaluate(async () => {
    const pc = window.__vgPcs && window.__vgPcs[window.__vgPcs.length - 1];
    if (!pc) return ['no peer connection'];
    const rep = await pc.getStats();
    const byId = new Map([...rep.values()].map((r) => [r.id, r]));
    const c = (id) => {
      const x = byId.get(id);
      return x ? `${x.candidateType} ${x.protocol}${x.tcpType ? '/' + x.tcpType : ''} ${x.address}:${x.port}` : id;
    };
    const out = [`iceConnectionState=${pc.iceConnectionState} connectionState=${pc.connectionState}`];
    for (const r of rep.values()) {
      if (r.type !== 'candidate-pair') continue;
      out.push(`${r.state.padEnd(11)} ${c(r.localCandidateId)} -> ${c(r.remoteCandidateId)}` +
        ` requests=${r.requestsSent} responses=${r.responsesReceived}${r.nominated ? ' nominated' : ''}`);
    }
    return out;
  });
}

function candidatesOf(sdp) {
  return (sdp || '').split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'))
    .map((l) => l.slice('a=candidate:'.length));
}

async function oneRun(page, run) {
  const c = checker(`[${args.setup} run ${run}] `);
  const rec = { setup: args.setup, run, ok: false };
  let answerSdp = null;
  const onResponse = async (r) => {
    if (r.request().method() === 'POST' && /\/whip(\?|$)/.test(new URL(r.url()).pathname + new URL(r.url()).search)) {
      answerSdp = await r.text().catch(() => null);
    }
  };
  page.on('response', onResponse);
  try {
    const resp = await page.goto(args.url);
    const secure = await page.evaluate(() => window.isSecureContext && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia));
    if (base.protocol === 'https:') {
      const sec = resp && await resp.securityDetails();
      console.log(`TLS: ${sec ? `${sec.protocol}, subject ${sec.subjectName}, issuer ${sec.issuer}` : 'no security details'}`);
      c.check(!!sec && /^TLS/.test(sec.protocol), 'the page came over TLS', sec ? sec.protocol : 'none');
    }
    c.check(secure, 'the page is a secure context (the microphone is available)',
      base.protocol === 'https:' ? 'https, no insecure-origin flag' : base.hostname === '127.0.0.1' ? 'http://127.0.0.1' : 'test flag for http');
    await page.click('#toggle');
    const st = await waitState(page, ['connected', 'failed'], 20000);
    const cands = candidatesOf(answerSdp);
    console.log(`answer candidates: ${cands.length ? '\n  ' + cands.join('\n  ') : '(none seen)'}`);
    const err = await vg(page, () => window.voxgate.error);
    if (!c.check(st === 'connected', 'one click connects', st + (err ? ` (${err.message})` : ''))) {
      console.log('candidate pairs (getStats):\n  ' + (await candidatePairs(page)).join('\n  '));
      return rec;
    }
    if (args.firstCandidate) {
      const first = cands[0] && cands[0].split(' ')[4];
      c.check(first === args.firstCandidate, 'the answer advertises the expected address first', `${first}`);
    }
    await waitFor(page, () => window.voxgate.timeline.audio, 'the first audio back', 10000);
    await page.waitForFunction(() => window.voxgate.timeline.statsFirstPacket, null, { timeout: 2000 }).catch(() => {});
    const tl = await vg(page, () => window.voxgate.timeline);
    printTimeline(tl);
    const trace = await page.evaluate(() => window.__vgTrace);
    const post = (trace.find((t) => t[1] === 'POST') || [0])[0];
    console.log('ICE trace (ms from the POST): ' +
      trace.map(([t, what]) => `${what} ${(t - post).toFixed(0)}`).join(', '));
    for (const p of ['answer', 'ice', 'dtls', 'audio']) rec[p] = tl[p] ? tl[p].fromPost : null;
    rec.clickToPost = tl.post ? tl.post.fromClick : null;
    c.check(['answer', 'ice', 'dtls', 'audio'].every((p) => rec[p] !== null && rec[p] >= 0),
      'every phase after the POST reported');
    if (args.maxConnectedMs !== undefined) {
      c.check(rec.dtls !== null && rec.dtls < args.maxConnectedMs,
        `connected within ${args.maxConnectedMs} ms of the POST`, `${rec.dtls && rec.dtls.toFixed(0)} ms`);
    }

    await page.waitForTimeout(500); // let the jitter buffer settle
    const echo = await recordEcho(page, { speech: args.speech, control: args.control, seconds: args.recordS,
      windowS: args.windowS });
    checkEcho(c, echo, { median: args.median, margin: args.margin });
    if (process.env.VOXGATE_E2E_SAVE_REC) {
      // The echo as analysed (mono float32 at ANALYSIS_RATE), for offline study.
      const f = `${process.env.VOXGATE_E2E_SAVE_REC}/${args.setup}-${process.pid}-${run}.f32`;
      writeFileSync(f, Buffer.from(echo.recorded.buffer));
      console.log(`recording saved: ${f}`);
    }
    rec.speech = echo.right.median;
    rec.control = echo.control.median;

    const { tr, stats } = await readTransport(page);
    rec.transport = tr.label;
    rec.local = `${tr.local} ${tr.localType}${tr.tcpType ? ' ' + tr.tcpType : ''}`;
    rec.remote = `${tr.remote} ${tr.remoteType}`;
    rec.lostIn = stats.packetsLost;
    rec.lostOut = stats.lostAtServer;
    if (args.protocol) c.check(tr.protocol === args.protocol, `the selected pair is ${args.protocol.toUpperCase()}`, tr.label);
    if (args.remote) c.check(tr.remote === args.remote, `the browser talks to ${args.remote}`, tr.remote);
    if (args.localIp) {
      c.check(tr.local.replace(/:\d+$/, '') === args.localIp, `the browser's side of the pair is ${args.localIp}`, tr.local);
    }
    if (args.localType) {
      c.check(tr.localType === args.localType, `the browser's candidate is ${args.localType}`, tr.localType);
    }
    c.check(stats.packetsReceived > 0 && stats.packetsSent > 0, 'packets flow both ways',
      `sent=${stats.packetsSent} received=${stats.packetsReceived}`);

    const list = await serverSessions(base, api);
    console.log(`server sessions: ${JSON.stringify(list)}`);
    if (c.check(list.length === 1, 'the server lists one session')) {
      const srv = list[0];
      rec.serverRemote = `${srv.remote} ${srv.transport}`;
      if (args.protocol) c.check(srv.transport === args.protocol, `the server reports ${args.protocol.toUpperCase()} too`, srv.transport);
      if (args.serverRemoteIp) {
        const ip = String(srv.remote).replace(/^\[?(.*?)\]?:\d+$/, '$1');
        c.check(ip === args.serverRemoteIp, `the server sees the browser at ${args.serverRemoteIp}`, srv.remote);
      }
      c.check(srv.packets_in > 0 && srv.packets_out > 0, 'the server counts packets both ways',
        `in=${srv.packets_in} out=${srv.packets_out}`);
    }

    await page.click('#toggle');
    const e = await serverEmpty(base, 3000, api);
    c.check(e.ok, 'Stop frees the session on the server', JSON.stringify(e.list));
  } catch (e) {
    c.check(false, 'run completed', e.message.split('\n')[0]);
    console.log('candidate pairs (getStats):\n  ' + (await candidatePairs(page).catch(() => ['?'])).join('\n  '));
  } finally {
    page.off('response', onResponse);
    rec.ok = c.failures === 0;
    if (!rec.ok) rec.failed = c.failed;
    total.passes += c.passes;
    total.failures += c.failures;
  }
  return rec;
}

async function main() {
  const ctx = await launch({ profile: args.profile, speech: args.speech, url: args.url, chromium: args.chromium,
    selfSigned: args.selfSigned === '1' });
  api = ctx.request;
  try {
    await ctx.addInitScript(keepPeerConnections);
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 404/.test(m.text())) console.log(`  [page] ${m.text()}`);
    });
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    for (let run = 1; run <= args.runs; run++) {
      console.log(`--- set-up ${args.setup}, run ${run}/${args.runs}: ${args.url}`);
      const rec = await oneRun(page, run);
      console.log(`RUN ${JSON.stringify(rec)}`);
    }
  } finally {
    await ctx.close();
  }
}

main().then(() => {
  console.log(`RESULT passed=${total.passes} failed=${total.failures}`);
  process.exit(total.failures ? 1 : 0);
}, (e) => {
  console.error(`reach_browser: ${e.stack || e}`);
  console.log(`RESULT passed=${total.passes} failed=${total.failures + 1}`);
  process.exit(1);
});
