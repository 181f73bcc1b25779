// reachability.sh's summary: one row per set-up with its result and the
// median connect timings (ms from the offer POST) over its runs.
//
//   node timings.mjs SUMMARY_FILE
//
// SUMMARY_FILE holds the lines reachability.sh collected:
//   SETUP <id> <passed|failed|skipped> <title...>      one per set-up, in order
//   RUN {json}                                         reach_browser.mjs, per run
// (a RUN's "setup" names its set-up). Prints a Markdown table (it goes to
// the README as is) and a note on how the numbers were taken.

import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
const setups = [];
const runs = new Map();
for (const l of lines) {
  let m;
  if ((m = /^SETUP (\S+) (\S+) (.*)$/.exec(l))) {
    setups.push({ id: m[1], result: m[2], title: m[3] });
  } else if (l.startsWith('RUN ')) {
    const r = JSON.parse(l.slice(4));
    if (!runs.has(r.setup)) runs.set(r.setup, []);
    runs.get(r.setup).push(r);
  }
}

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const ms = (x) => (x === null ? '—' : x < 10 ? x.toFixed(1) : x.toFixed(0));
const num = (x) => (x === null ? '—' : x.toFixed(2));

const head = ['set-up', 'result', 'runs ok', 'transport (browser → server)', 'answer', 'ICE', 'DTLS', 'first audio',
  'click → DTLS', 'speech / control'];
const rows = [head, head.map((h) => '-'.repeat(Math.max(3, h.length)))];
for (const s of setups) {
  const rs = runs.get(s.id) || [];
  const ok = rs.filter((r) => r.ok);
  const timed = rs.filter((r) => typeof r.dtls === 'number');
  const transports = [...new Set(rs.filter((r) => r.transport).map((r) => `${r.transport} → ${r.remote}`))];
  rows.push([
    `${s.id}: ${s.title}`,
    s.result,
    s.result === 'skipped' ? '—' : `${ok.length}/${rs.length}`,
    transports.join('; ') || '—',
    ms(median(timed.map((r) => r.answer))),
    ms(median(timed.map((r) => r.ice))),
    ms(median(timed.map((r) => r.dtls))),
    ms(median(timed.map((r) => r.audio))),
    ms(median(timed.filter((r) => typeof r.clickToPost === 'number').map((r) => r.clickToPost + r.dtls))),
    `${num(median(rs.map((r) => r.speech ?? null)))} / ${num(median(rs.map((r) => r.control ?? null)))}`,
  ]);
}
const width = head.map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
for (const r of rows) {
  console.log('| ' + r.map((c, i) => c + ' '.repeat(width[i] - [...c].length)).join(' | ') + ' |');
}
console.log('\nTimings: medians in ms from the page\'s offer POST (answer received, ICE connected, ' +
  'DTLS connected = RTCPeerConnection "connected", first echoed audio back); click → DTLS: from the click on ' +
  'Start (microphone, offer and POST included; the page POSTs before ICE gathering completes). speech / ' +
  'control: median windowed correlation of the recorded echo with the spoken sentence and with a control sentence.');
