#!/usr/bin/python3
"""aiortc as a WHIP client of voxgate's echo mode.

aiortc is a complete WebRTC peer that nobody on this project wrote: its own
ICE (aioice, full agent, regular nomination towards an ICE-lite peer), DTLS
(pyOpenSSL), SRTP (pylibsrtp) and Opus. This script

  1. makes a speech WAV with espeak-ng + sox (plus low-level noise, as a
     real microphone never sends digital silence) and a control sentence;
  2. offers an audio track that plays the speech (aiortc's MediaPlayer,
     looping), POSTs the offer to URL/whip?mode=echo and applies the answer;
  3. collects the returned audio for about --seconds after the connection
     is up, then DELETEs the session (or, with --no-delete, only closes the
     peer connection: aiortc then sends RTCP BYE and DTLS close_notify);
  4. proves the echo carries the speech: 0.5 s windows of the returned
     audio, each correlated with the (looping) reference at its own best
     lag; pass when the median is >= 0.6 and beats the control sentence by
     >= 0.3 (the method of shared/TESTING.md).

It prints the timings (from the POST): answer, ICE connected, DTLS
connected, first audio back; then the correlations, and a last line
`RESULT {json}`. Exit status 0 on pass, 1 on failure, 2 on bad usage.

Run it inside a network namespace (tests/e2e/echo_aiortc.sh does): aioice
gathers on every interface, so --host-ip names the only address it may use.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import wave

import numpy as np

import aioice.ice
import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError

SAMPLE_RATE = 48000
WINDOW_S = 0.5
PASS_MEDIAN = 0.6
PASS_MARGIN = 0.3
# Windows quieter than this (RMS, in 16-bit units: about -40 dBFS) are the
# pauses between sentences; only speech windows are compared.
SPEECH_RMS = 330.0
NOISE_RMS = 33.0  # about -60 dBFS of white noise under the speech
MIN_SPEECH_WINDOWS = 3

SPEECH_TEXT = ("The quick brown fox jumps over the lazy dog. "
               "Five hundred people were waiting at the station.")
CONTROL_TEXT = ("She sells sea shells by the sea shore, "
                "and nobody ever asked her why.")


def log(msg):
    print(msg, flush=True)


# --- reference audio ------------------------------------------------------

def make_wav(text, path, seed):
    """espeak-ng -> 48 kHz mono 16-bit, peak -3 dBFS, 0.5 s lead-in and 1 s
    tail, plus low-level white noise. Returns the samples (float64)."""
    raw = path + ".espeak.wav"
    padded = path + ".padded.wav"
    subprocess.run(["espeak-ng", "-w", raw, text], check=True)
    subprocess.run(["sox", raw, "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                    padded, "norm", "-3", "pad", "0.5", "1.0"], check=True)
    with wave.open(padded, "rb") as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    rng = np.random.default_rng(seed)
    x = np.clip(x + rng.normal(0.0, NOISE_RMS, len(x)), -32768, 32767)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.round(x).astype("<i2").tobytes())
    os.unlink(raw)
    os.unlink(padded)
    return x


# --- comparison -------------------------------------------------------------

def window_correlations(rec, ref, sr=SAMPLE_RATE, win_s=WINDOW_S):
    """For each non-overlapping window of `rec` that holds speech, the best
    normalised correlation with any same-length stretch of `ref` played in a
    loop (each window has its own lag: the delay may drift)."""
    win = int(sr * win_s)
    L = len(ref)
    tiled = np.concatenate([ref, ref[:win]])  # a window may span the loop point
    csum = np.concatenate([[0.0], np.cumsum(tiled * tiled)])
    seg_norm = np.sqrt(csum[win:win + L] - csum[:L])  # |ref[s:s+win]| for s in [0, L)
    n = 1
    while n < len(tiled) + win:
        n *= 2
    R = np.fft.rfft(tiled, n)
    out = []
    for start in range(0, len(rec) - win + 1, win):
        w = rec[start:start + win]
        if np.sqrt(np.mean(w * w)) < SPEECH_RMS:
            continue
        c = np.fft.irfft(R * np.conj(np.fft.rfft(w, n)), n)[:L]
        corr = c / (np.linalg.norm(w) * seg_norm + 1e-9)
        out.append(float(corr.max()))
    return out


# --- the WHIP session ---------------------------------------------------------

class Recorder:
    """Collects the returned audio as mono float samples placed by RTP
    timestamp (so a lost frame is a gap, not a shift)."""

    def __init__(self):
        self.chunks = []  # (pts, mono samples)
        self.first_frame_at = None
        self.first_speech_at = None
        self.task = None

    async def run(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if self.first_frame_at is None:
                self.first_frame_at = now
            a = frame.to_ndarray()
            ch = len(frame.layout.channels)
            if frame.format.is_planar:
                mono = a.astype(np.float64).mean(axis=0)
            else:
                mono = a.reshape(-1, ch).astype(np.float64).mean(axis=1)
            if frame.sample_rate != SAMPLE_RATE:
                raise RuntimeError(f"unexpected sample rate {frame.sample_rate}")
            if self.first_speech_at is None and np.sqrt(np.mean(mono * mono)) >= SPEECH_RMS:
                self.first_speech_at = now
            self.chunks.append((frame.pts, mono))

    def samples(self):
        if not self.chunks:
            return np.zeros(0)
        base = self.chunks[0][0]
        end = max(p - base + len(m) for p, m in self.chunks)
        out = np.zeros(end)
        for p, m in self.chunks:
            out[p - base:p - base + len(m)] = m
        return out


async def whip_session(args, speech_wav):
    # aioice would gather on every interface and skips 127.0.0.1: in the
    # test namespace the only address it may use is the veth's.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [args.host_ip]

    t = {}
    connected = asyncio.Event()
    failed = asyncio.Event()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN server: none is reachable
    rec = Recorder()
    player = MediaPlayer(speech_wav, loop=True)
    pc.addTrack(player.audio)

    @pc.on("iceconnectionstatechange")
    def _ice():
        s = pc.iceConnectionState
        log(f"  ice: {s} (+{(time.monotonic() - t.get('post', time.monotonic())) * 1e3:.0f} ms)")
        if s in ("completed", "connected") and "ice" not in t:
            t["ice"] = time.monotonic()
        if s == "failed":
            failed.set()

    @pc.on("connectionstatechange")
    def _conn():
        s = pc.connectionState
        log(f"  connection: {s} (+{(time.monotonic() - t.get('post', time.monotonic())) * 1e3:.0f} ms)")
        if s == "connected" and "dtls" not in t:
            t["dtls"] = time.monotonic()
            connected.set()
        if s == "failed":
            failed.set()

    @pc.on("track")
    def _track(track):
        if track.kind == "audio":
            rec.task = asyncio.ensure_future(rec.run(track))

    result = {"ok": False}
    headers = {"Content-Type": "application/sdp"}
    if args.token:
        headers["Authorization"] = "Bearer " + args.token
    async with aiohttp.ClientSession() as http:
        g0 = time.monotonic()
        await pc.setLocalDescription(await pc.createOffer())  # waits for gathering
        log(f"offer ready after {(time.monotonic() - g0) * 1e3:.0f} ms of gathering "
            f"({pc.localDescription.sdp.count('a=candidate:')} candidates)")
        t["post"] = time.monotonic()
        async with http.post(f"{args.url}/whip?mode={args.mode}", data=pc.localDescription.sdp,
                             headers=headers) as r:
            body = await r.text()
            t["answer"] = time.monotonic()
            location = r.headers.get("Location")
            if r.status != 201 or not location:
                log(f"FAIL: POST returned {r.status} (Location {location!r}): {body.strip()[:200]}")
                await pc.close()
                return result
        log(f"answer: 201 in {(t['answer'] - t['post']) * 1e3:.1f} ms, Location {location}")
        for line in body.splitlines():
            if line.startswith(("a=candidate:", "a=ice-lite", "a=setup:", "a=end-of-candidates")):
                log(f"  answer {line}")
        session_url = location if location.startswith("http") else args.url + location
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

        done, _ = await asyncio.wait(
            [asyncio.ensure_future(connected.wait()), asyncio.ensure_future(failed.wait())],
            timeout=args.connect_timeout, return_when=asyncio.FIRST_COMPLETED)
        if not connected.is_set():
            log(f"FAIL: not connected after {args.connect_timeout} s "
                f"(ICE {pc.iceConnectionState}, connection {pc.connectionState})")
        else:
            await asyncio.sleep(args.seconds)
            stats = await pc.getStats()
            for s in stats.values():
                if s.type in ("outbound-rtp", "inbound-rtp", "remote-inbound-rtp",
                              "remote-outbound-rtp"):
                    keep = {k: v for k, v in vars(s).items()
                            if k in ("packetsSent", "packetsReceived", "packetsLost",
                                     "roundTripTime", "jitter", "bytesSent", "bytesReceived")}
                    log(f"  stats {s.type}: {keep}")
                    result.setdefault("stats", {})[s.type] = keep

        if args.no_delete:
            log("no DELETE: closing the peer connection (RTCP BYE, DTLS close_notify) instead")
        else:
            async with http.delete(session_url, headers=headers) as r:
                await r.read()
                result["delete_status"] = r.status
                log(f"DELETE {location}: {r.status}")

    await pc.close()
    player.audio.stop()
    if rec.task:
        try:
            await asyncio.wait_for(rec.task, 2)
        except asyncio.TimeoutError:
            rec.task.cancel()

    def ms(key):
        return round((t[key] - t["post"]) * 1e3, 1) if key in t else None

    result.update(
        answer_ms=ms("answer"),
        ice_connected_ms=ms("ice"),
        dtls_connected_ms=ms("dtls"),
        first_audio_ms=(round((rec.first_frame_at - t["post"]) * 1e3, 1)
                        if rec.first_frame_at else None),
        first_speech_ms=(round((rec.first_speech_at - t["post"]) * 1e3, 1)
                         if rec.first_speech_at else None),
        connected=connected.is_set(),
    )
    return result, rec.samples()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="server base URL, e.g. http://10.78.0.1:8080")
    ap.add_argument("--host-ip", required=True, help="the only local address aioice may use")
    ap.add_argument("--workdir", required=True, help="where the WAVs (and the recording) go")
    ap.add_argument("--mode", default="echo")
    ap.add_argument("--token", default=os.environ.get("VOXGATE_TOKEN"))
    ap.add_argument("--seconds", type=float, default=5.0, help="audio to collect once connected")
    ap.add_argument("--connect-timeout", type=float, default=10.0)
    ap.add_argument("--no-delete", action="store_true",
                    help="end by closing the peer connection only (the server must notice)")
    args = ap.parse_args()

    speech_wav = os.path.join(args.workdir, "speech.wav")
    control_wav = os.path.join(args.workdir, "control.wav")
    ref = make_wav(SPEECH_TEXT, speech_wav, seed=1)
    control = make_wav(CONTROL_TEXT, control_wav, seed=2)
    log(f"reference {len(ref) / SAMPLE_RATE:.2f} s, control {len(control) / SAMPLE_RATE:.2f} s")

    out = asyncio.run(whip_session(args, speech_wav))
    if isinstance(out, dict):  # failed before media
        print("RESULT " + json.dumps(out), flush=True)
        return 1
    result, rec = out
    with wave.open(os.path.join(args.workdir, "echo.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.clip(np.round(rec), -32768, 32767).astype("<i2").tobytes())

    right = window_correlations(rec, ref)
    wrong = window_correlations(rec, control)
    med_right = float(np.median(right)) if right else 0.0
    med_wrong = float(np.median(wrong)) if wrong else 0.0
    result.update(
        received_s=round(len(rec) / SAMPLE_RATE, 2),
        speech_windows=len(right),
        corr_median=round(med_right, 3),
        corr_control_median=round(med_wrong, 3),
        corr_windows=[round(c, 2) for c in right],
    )
    why = []
    if not result["connected"]:
        why.append("never connected")
    if len(right) < MIN_SPEECH_WINDOWS:
        why.append(f"only {len(right)} speech windows came back (need {MIN_SPEECH_WINDOWS})")
    if med_right < PASS_MEDIAN:
        why.append(f"median correlation {med_right:.3f} < {PASS_MEDIAN}")
    if med_right - med_wrong < PASS_MARGIN:
        why.append(f"beats the control by {med_right - med_wrong:.3f} < {PASS_MARGIN}")
    if not args.no_delete and result.get("delete_status") != 200:
        why.append(f"DELETE returned {result.get('delete_status')}")
    result["ok"] = not why

    log(f"answer {result['answer_ms']} ms, ICE connected {result['ice_connected_ms']} ms, "
        f"DTLS connected {result['dtls_connected_ms']} ms, first audio back "
        f"{result['first_audio_ms']} ms, first speech back {result['first_speech_ms']} ms "
        "(all from the POST)")
    log(f"received {result['received_s']} s; {len(right)} speech windows; correlation median "
        f"{med_right:.3f} (control {med_wrong:.3f}); windows {result['corr_windows']}")
    log("PASS" if result["ok"] else "FAIL: " + "; ".join(why))
    print("RESULT " + json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
