// voxgate page: the page's audio. One AudioContext, the element that plays
// what comes back, the level meters, and the tap the tests record the
// echo through.

import { METER_INTERVAL_MS } from './page.js';
import { showLevel } from './view.js';
import { session } from './session.js';

export let audioCtx = null;       // one AudioContext for the page, created on the first click

// The remote track plays through an unmuted element: that is what the
// person hears, and Chrome feeds remote audio to WebAudio (the return
// meter) and fills getStats audio levels only while it is played out.
export const remoteAudio = new Audio();
remoteAudio.autoplay = true;

// At 48 kHz where the browser allows it: Opus's rate, so the WebSocket
// path hands the microphone's frames to the encoder as they are.
export function ensureAudioContext() {
  if (!audioCtx) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (AC) {
      try { audioCtx = new AC({ sampleRate: 48000, latencyHint: 'interactive' }); } catch { audioCtx = new AC(); }
    }
  }
  if (audioCtx && audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  return audioCtx;
}

export const levels = { mic: null, ret: null }; // dBFS, for the test hook

// rtc: the meter belongs to the WebRTC attempt (a fallback ends it).
export function meter(s, stream, bar, label, which, rtc = false) {
  const ctx = audioCtx;
  if (!ctx) return;
  const src = ctx.createMediaStreamSource(stream);
  const an = ctx.createAnalyser();
  an.fftSize = 1024;
  src.connect(an);
  (rtc ? s.rtcNodes : s.nodes).push(src, an);
  const buf = new Float32Array(an.fftSize);
  (rtc ? s.rtcTimers : s.timers).push(setInterval(() => {
    an.getFloatTimeDomainData(buf);
    let sum = 0;
    for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
    const db = 10 * Math.log10(sum / buf.length + 1e-12);
    levels[which] = db;
    showLevel(bar, label, db);
  }, METER_INTERVAL_MS));
}

// ---- remote audio tap (tests record the echo through this) ----------------

const TAP_WORKLET = `
  registerProcessor('vg-tap', class extends AudioWorkletProcessor {
    process(inputs) {
      const ch = inputs[0] && inputs[0][0];
      if (ch) this.port.postMessage(ch.slice(0));
      return true;
    }
  });`;
let tapLoaded = null;

// Records `seconds` of the audio coming back from the server, as played
// (mono, the AudioContext's rate). Resolves { sampleRate, samples }.
export async function tapRemote(seconds) {
  const s = session;
  if (!s || !s.remoteStream || !audioCtx) throw new Error('no remote audio to record');
  if (!tapLoaded) {
    const url = URL.createObjectURL(new Blob([TAP_WORKLET], { type: 'text/javascript' }));
    tapLoaded = audioCtx.audioWorklet.addModule(url);
  }
  await tapLoaded;
  const want = Math.round(seconds * audioCtx.sampleRate);
  const src = audioCtx.createMediaStreamSource(s.remoteStream);
  const node = new AudioWorkletNode(audioCtx, 'vg-tap');
  const sink = audioCtx.createGain();
  sink.gain.value = 0; // keeps the node pulled without playing it twice
  src.connect(node).connect(sink).connect(audioCtx.destination);
  const chunks = [];
  let have = 0;
  await new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('remote audio stalled')), seconds * 1000 + 5000);
    node.port.onmessage = (ev) => {
      chunks.push(ev.data);
      have += ev.data.length;
      if (have >= want) { clearTimeout(guard); resolve(); }
    };
  });
  node.port.onmessage = null;
  src.disconnect(); node.disconnect(); sink.disconnect();
  const out = new Float32Array(have);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return { sampleRate: audioCtx.sampleRate, samples: Array.from(out.subarray(0, want)) };
}
