// Connect times with a real browser: the voxgate page in headless Chromium
// (Debian's /usr/bin/chromium) connects N times in a row, one click each,
// and reports the page's own timeline (window.voxgate.timeline): ms from
// the click to the offer POST, and from the POST to the answer, ICE
// connected, DTLS connected and the first audio back. Run by
// bench/connect.sh inside the server's namespace (only `lo`), so the page
// is http://127.0.0.1:PORT/, a secure context.
//
//   node connect_chromium.mjs --url http://127.0.0.1:8080/ --speech speech.wav \
//        --profile DIR [--sessions 5]
//
// Prints one line per session and a median/p95 table; exits non-zero when a
// session does not connect.

import { chromium } from 'playwright-core';

function parseArgs(argv) {
  const a = { sessions: 5, chromium: '/usr/bin/chromium' };
  for (let i = 2; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['url', 'speech', 'profile']) if (!a[k]) throw new Error(`missing --${k}`);
  a.sessions = Number(a.sessions);
  return a;
}

// Nearest-rank percentile, as vg_bench_connect prints it.
function pct(sorted, p) {
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1];
}

async function serverSessions(base) {
  const r = await fetch(new URL('/api/sessions', base));
  return r.ok ? r.json() : null;
}

async function main() {
  const args = parseArgs(process.argv);
  const base = new URL(args.url);
  const ctx = await chromium.launchPersistentContext(args.profile, {
    executablePath: args.chromium,
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${args.speech}`,
      '--autoplay-policy=no-user-gesture-required',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-quic',
      // the namespace has only lo: without this ICE gathering never ends
      '--allow-loopback-in-peer-connection',
    ],
    ignoreDefaultArgs: ['--mute-audio'],
  });
  const rows = [];
  let failed = 0;
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    await page.goto(args.url);
    for (let i = 0; i < args.sessions; i++) {
      await page.click('#toggle');
      try {
        await page.waitForFunction(() => ['connected', 'failed'].includes(window.voxgate.state), null,
          { timeout: 20000, polling: 10 });
        await page.waitForFunction(() => window.voxgate.state !== 'connected' || window.voxgate.timeline.audio,
          null, { timeout: 10000, polling: 10 });
      } catch (e) {
        console.log(`session ${i}: ${e.message.split('\n')[0]}`);
      }
      const st = await page.evaluate(() => window.voxgate.state);
      const tl = await page.evaluate(() => window.voxgate.timeline);
      const tr = await page.evaluate(() => window.voxgate.transport);
      if (st !== 'connected' || !tl.audio) {
        const err = await page.evaluate(() => window.voxgate.error);
        console.log(`session ${i}: FAILED (${st}${err ? ': ' + err.message : ''})`);
        failed++;
      } else {
        const row = {
          clickToPost: tl.post.fromClick,
          answer: tl.answer.fromPost, ice: tl.ice.fromPost, dtls: tl.dtls.fromPost, audio: tl.audio.fromPost,
        };
        rows.push(row);
        console.log(`session ${i}: click->POST ${row.clickToPost.toFixed(1)} ms; from the POST: ` +
          `answer ${row.answer.toFixed(1)}, ICE ${row.ice.toFixed(1)}, DTLS ${row.dtls.toFixed(1)}, ` +
          `first audio back ${row.audio.toFixed(1)} ms` + (tr ? ` (${tr.label})` : ''));
      }
      await page.click('#toggle'); // Stop: DELETE
      for (let k = 0; k < 60; k++) {
        const list = await serverSessions(base);
        if (list && list.length === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await ctx.close();
  }
  const cols = [['click -> offer POST', 'clickToPost'], ['POST -> answer', 'answer'],
    ['POST -> ICE connected', 'ice'], ['POST -> DTLS connected', 'dtls'], ['POST -> first audio back', 'audio']];
  console.log(`Chromium, ${rows.length} of ${args.sessions} sessions connected (ms, the page's timeline)`);
  console.log(`${'phase'.padEnd(26)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}`);
  for (const [name, key] of cols) {
    const v = rows.map((r) => r[key]).sort((a, b) => a - b);
    if (!v.length) continue;
    console.log(`${name.padEnd(26)} ${pct(v, 50).toFixed(1).padStart(8)} ${pct(v, 95).toFixed(1).padStart(8)} ` +
      `${v[0].toFixed(1).padStart(8)} ${v[v.length - 1].toFixed(1).padStart(8)}`);
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });
