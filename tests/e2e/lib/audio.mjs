// Audio helpers for the end-to-end tests: read a PCM WAV, resample, and
// decide whether a recording carries a reference sentence.
//
// The comparison (TESTING.md): cut the recording into 0.5 s windows; each
// window finds its own best lag against the reference, which the fake
// microphone loops, so the lag search is circular over one period. A single
// global lag does not work: the browser's jitter buffer stretches the delay
// within a run. Silent windows carry no evidence and are skipped.

import { readFileSync } from 'node:fs';

export const ANALYSIS_RATE = 8000;   // speech band; Opus keeps the waveform there
export const WINDOW_S = 0.5;
const SILENT_REL = 0.1;              // window RMS below 10 % of the loudest: silence
const SILENT_ABS = 1e-4;             // -80 dBFS: nothing came back at all

// 16-bit PCM WAV (RIFF) -> { rate, samples: Float32Array } (channel 0).
export function readWav(path) {
  const b = readFileSync(path);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${path}: not a RIFF/WAVE file`);
  }
  let off = 12, fmt = null;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const len = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2),
              rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt || fmt.format !== 1 || fmt.bits !== 16) throw new Error(`${path}: want 16-bit PCM`);
      const frames = Math.floor(Math.min(len, b.length - body) / (2 * fmt.channels));
      const out = new Float32Array(frames);
      for (let i = 0; i < frames; i++) out[i] = b.readInt16LE(body + i * 2 * fmt.channels) / 32768;
      return { rate: fmt.rate, samples: out };
    }
    off = body + len + (len & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

// Windowed-sinc low-pass at `cutoff` Hz, then linear interpolation to `to`.
export function resample(samples, from, to = ANALYSIS_RATE, cutoff = 0.45 * to) {
  const taps = 127, half = (taps - 1) / 2, fc = cutoff / from;
  const h = new Float32Array(taps);
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const n = i - half;
    const sinc = n === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * n) / (Math.PI * n);
    const win = 0.42 - 0.5 * Math.cos(2 * Math.PI * i / (taps - 1)) + 0.08 * Math.cos(4 * Math.PI * i / (taps - 1));
    h[i] = sinc * win;
    sum += h[i];
  }
  for (let i = 0; i < taps; i++) h[i] /= sum;
  const filtered = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    let acc = 0;
    for (let k = 0; k < taps; k++) {
      const j = i + k - half;
      if (j >= 0 && j < samples.length) acc += h[k] * samples[j];
    }
    filtered[i] = acc;
  }
  const n = Math.floor(samples.length * to / from);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = i * from / to, j = Math.floor(x), f = x - j;
    out[i] = j + 1 < filtered.length ? filtered[j] * (1 - f) + filtered[j + 1] * f : filtered[j] || 0;
  }
  return out;
}

// In-place iterative radix-2 FFT on (re, im); inverse when inv.
function fft(re, im, inv) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (inv ? 2 : -2) * Math.PI / len;
    const wr = Math.cos(ang), wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k, b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci, ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] += tr; im[a] += ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
  if (inv) for (let i = 0; i < n; i++) { re[i] /= n; im[i] /= n; }
}

function rms(x) {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, x.length));
}

// Per-window best normalized correlation of `rec` against the looping
// `ref` (both at the same rate). Returns { windows: [{t, corr, lag}],
// median, speechWindows, totalWindows }.
export function windowedCorrelation(rec, ref, rate = ANALYSIS_RATE, windowS = WINDOW_S) {
  const W = Math.round(windowS * rate);
  const L = ref.length;
  const total = Math.floor(rec.length / W);
  const wins = [];
  for (let k = 0; k < total; k++) wins.push(rec.subarray(k * W, (k + 1) * W));
  const loud = Math.max(0, ...wins.map(rms));
  const result = { windows: [], median: 0, speechWindows: 0, totalWindows: total, peakRms: loud };
  if (loud < SILENT_ABS) return result;

  // The reference unrolled for one full period plus a window, so every
  // circular lag 0..L-1 is a contiguous slice.
  const ext = new Float64Array(L + W);
  for (let i = 0; i < ext.length; i++) ext[i] = ref[i % L];
  const energy = new Float64Array(ext.length + 1);
  for (let i = 0; i < ext.length; i++) energy[i + 1] = energy[i] + ext[i] * ext[i];
  let M = 1;
  while (M < L + 2 * W) M <<= 1;
  const Rr = new Float64Array(M), Ri = new Float64Array(M);
  Rr.set(ext);
  fft(Rr, Ri, false);

  for (let k = 0; k < total; k++) {
    const w = wins[k];
    if (rms(w) < SILENT_REL * loud) continue;
    let mean = 0;
    for (let i = 0; i < W; i++) mean += w[i];
    mean /= W;
    const Xr = new Float64Array(M), Xi = new Float64Array(M);
    let wE = 0;
    for (let i = 0; i < W; i++) { Xr[i] = w[i] - mean; wE += Xr[i] * Xr[i]; }
    fft(Xr, Xi, false);
    // cross[lag] = sum_i ext[lag + i] * w[i]  <=>  IFFT(R * conj(X))
    for (let i = 0; i < M; i++) {
      const r = Rr[i] * Xr[i] + Ri[i] * Xi[i];
      const im = Ri[i] * Xr[i] - Rr[i] * Xi[i];
      Xr[i] = r; Xi[i] = im;
    }
    fft(Xr, Xi, true);
    let best = -1, bestLag = 0;
    for (let lag = 0; lag < L; lag++) {
      const e = energy[lag + W] - energy[lag];
      if (e <= 0) continue;
      const c = Xr[lag] / Math.sqrt(e * wE);
      if (c > best) { best = c; bestLag = lag; }
    }
    result.windows.push({ t: k * windowS, corr: best, lagMs: bestLag * 1000 / rate });
  }
  result.speechWindows = result.windows.length;
  const sorted = result.windows.map((x) => x.corr).sort((a, b) => a - b);
  if (sorted.length) {
    const m = sorted.length >> 1;
    result.median = sorted.length & 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
  }
  return result;
}
