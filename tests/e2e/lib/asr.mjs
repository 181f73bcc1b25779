// What the transcription e2e scripts share: the word error rate through
// the one implementation (src/asr/wer.h, run by vg_asr_offline), the
// streamed-against-offline check, and the numbers they print.
// Used by transcribe_browser.mjs and ws_fallback.mjs.

import { execFileSync } from 'node:child_process';

export const WER_MARGIN = 0.05;   // streamed may be at most 5 points worse than offline

// { wer, errors, ref_words, ... } of hyp against ref (vg_asr_offline wer).
export function wer(tool, ref, hyp) {
  return JSON.parse(execFileSync(tool, ['wer', ref, hyp], { encoding: 'utf8' }));
}

export function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const pct = (x) => `${(100 * x).toFixed(1)} %`;

// The streamed transcript against the same engine on the same audio
// offline: prints both WERs (and a WER_RESULT line for collecting figures),
// checks the margin with checker `c`, returns { streamed, offline }.
export function checkWer(c, { tool, refText, hyp, offlineText, margin = WER_MARGIN }) {
  const ws = wer(tool, refText, hyp);
  const wo = wer(tool, refText, offlineText);
  console.log(`WER streamed ${pct(ws.wer)} (${ws.errors}/${ws.ref_words}), offline ${pct(wo.wer)} (${wo.errors}/${wo.ref_words})`);
  console.log(`WER_RESULT streamed=${ws.wer.toFixed(4)} offline=${wo.wer.toFixed(4)} words=${ws.ref_words}`);
  c.check(ws.wer <= wo.wer + margin, `streamed WER within ${100 * margin} points of offline`,
    `${pct(ws.wer)} vs ${pct(wo.wer)}`);
  return { streamed: ws, offline: wo };
}

// The reference's key words (five letters or more) and those of them the
// hypothesis lacks: { words, missing }.
export function keyWords(refText, hyp) {
  const words = [...new Set(refText.split(/\s+/).filter((x) => x.length >= 5))];
  const said = new Set(hyp.split(/\s+/));
  return { words, missing: words.filter((x) => !said.has(x)) };
}

export const KEYWORD_SHARE = 0.9;   // of the key words, at least this share must be in a transcript

// After a Stop in the middle of `sentence` (at `stopAt` ms since the click,
// the page's clock): that sentence's final comes after Stop (at least two
// of its words), before "done" in the server's messages `msgs`, and the
// page shows it (`shown`: the finals' texts on the page). `tr` is the page's
// transcript; checks with checker `c`, each named with `what`.
export function checkMidSentenceStop(c, { what, tr, msgs, stopAt, sentence, done, shown }) {
  const late = tr.finals.filter((f) => f.text && f.shown_at > stopAt);
  const words = new Set(sentence.split(' '));
  c.check(done, `${what}: "done" comes`, done ? `${tr.finals.length} finals` : 'never');
  c.check(late.length === 1 && late[0].text.split(' ').filter((x) => words.has(x)).length >= 2,
    `${what}: the cut sentence's final arrives after Stop`,
    late.map((f) => `"${f.text}" ${(f.shown_at - stopAt).toFixed(0)} ms after Stop`).join('; ') || 'none');
  const iLate = msgs.findIndex((m) => m.type === 'final' && late[0] && m.text === late[0].text);
  const iDone = msgs.findIndex((m) => m.type === 'done');
  c.check(iLate >= 0 && iDone > iLate, `${what}: its final comes before "done"`);
  c.check(late.length === 1 && shown.includes(late[0].text), `${what}: the page shows that final`, JSON.stringify(shown));
}
