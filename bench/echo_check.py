#!/usr/bin/python3
"""Checks that an echo server really echoes, with aiortc as the client: a
peer nobody on this project wrote. bench/compare.sh runs it against each
server before loading it, so a broken configuration fails loudly instead of
producing a table of zeros.

  echo_check.py --target janus  --url http://IP:8088/janus  --host-ip IP
  echo_check.py --target aiortc --url http://IP:PORT/offer  --host-ip IP
  echo_check.py --target whip   --url http://IP:PORT        --host-ip IP

The client sends a 440 Hz tone (Opus, aiortc's encoder) for --seconds and
passes when at least 2 s of audio came back and the returned audio's
strongest frequency is 440 Hz (within one FFT bin). Signaling:
  janus   Janus's HTTP API: create, attach janus.plugin.echotest, message
          {"audio": true, "video": false} with the offer, long-poll for the
          answer, destroy at the end
  aiortc  POST {"sdp","type":"offer"} -> {"sdp","type":"answer"}
  whip    POST URL/whip?mode=echo (application/sdp), DELETE at the end
The last line is `ECHO_CHECK {json}`; exit status 0 on pass, 1 on failure.
Run it inside a network namespace: --host-ip is the only address aioice
may gather on.
"""

import argparse
import asyncio
import fractions
import json
import sys
import time
import uuid

import aioice.ice
import aiohttp
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import AudioFrame

RATE = 48000
FRAME = 960  # 20 ms
TONE_HZ = 440.0


class Tone(AudioStreamTrack):
    """A 440 Hz sine at -6 dBFS, 20 ms frames, paced in real time."""

    def __init__(self):
        super().__init__()
        self.n = 0
        self.t0 = None

    async def recv(self):
        if self.t0 is None:
            self.t0 = time.monotonic()
        due = self.t0 + self.n * FRAME / RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(FRAME) + self.n * FRAME) / RATE
        pcm = (np.sin(2 * np.pi * TONE_HZ * t) * 16384).astype("<i2")
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.n * FRAME
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


def txn():
    return uuid.uuid4().hex[:12]


class Janus:
    def __init__(self, http, url):
        self.http, self.url, self.session = http, url.rstrip("/"), None

    async def post(self, path, body):
        body["transaction"] = txn()
        async with self.http.post(self.url + path, json=body) as r:
            return await r.json(content_type=None)

    async def answer(self, offer_sdp):
        r = await self.post("", {"janus": "create"})
        self.session = r["data"]["id"]
        r = await self.post(f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.echotest"})
        handle = r["data"]["id"]
        r = await self.post(f"/{self.session}/{handle}", {
            "janus": "message", "body": {"audio": True, "video": False},
            "jsep": {"type": "offer", "sdp": offer_sdp}})
        if r.get("janus") != "ack":
            raise RuntimeError(f"janus refused the message: {r}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            async with self.http.get(f"{self.url}/{self.session}?maxev=1") as resp:
                ev = await resp.json(content_type=None)
            if isinstance(ev, list):
                ev = ev[0] if ev else {}
            if ev.get("jsep", {}).get("type") == "answer":
                return ev["jsep"]["sdp"]
        raise RuntimeError("no answer from janus within 10 s")

    async def close(self):
        if self.session is not None:
            await self.post(f"/{self.session}", {"janus": "destroy"})


class AiortcJson:
    def __init__(self, http, url):
        self.http, self.url, self.pc = http, url, None

    async def answer(self, offer_sdp):
        async with self.http.post(self.url, json={"sdp": offer_sdp, "type": "offer"}) as r:
            if r.status != 200:
                raise RuntimeError(f"POST {self.url}: {r.status} {await r.text()}")
            a = await r.json()
        self.pc = a.get("pc")
        return a["sdp"]

    async def close(self):
        if self.pc is not None:
            base = self.url.rsplit("/", 1)[0]
            async with self.http.post(base + "/close", json={"pc": self.pc}):
                pass


class Whip:
    def __init__(self, http, url):
        self.http, self.url, self.loc = http, url.rstrip("/"), None

    async def answer(self, offer_sdp):
        async with self.http.post(self.url + "/whip?mode=echo", data=offer_sdp,
                                  headers={"Content-Type": "application/sdp"}) as r:
            if r.status != 201:
                raise RuntimeError(f"POST /whip: {r.status} {await r.text()}")
            self.loc = r.headers.get("Location")
            return await r.text()

    async def close(self):
        if self.loc:
            async with self.http.delete(self.url + self.loc):
                pass


def dominant_hz(samples, rate):
    """The strongest frequency in samples and the FFT's bin width (Hz)."""
    x = samples.astype(np.float64)
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec)) * rate / len(x), rate / len(x)


async def run(args):
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [args.host_ip]
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(Tone())
    got = []
    first = {}
    t_post = None

    @pc.on("track")
    def on_track(track):
        async def pull():
            while True:
                try:
                    f = await track.recv()
                except MediaStreamError:
                    return
                a = f.to_ndarray()
                # packed stereo (1, 2n) or mono (1, n): keep the first channel
                mono = a.reshape(-1)[::len(f.layout.channels)] if a.shape[0] == 1 else a[0]
                if "t" not in first:
                    first["t"] = time.monotonic()
                got.append((f.sample_rate, mono.astype(np.int16)))
        asyncio.ensure_future(pull())

    result = {"target": args.target, "url": args.url}
    async with aiohttp.ClientSession() as http:
        sig = {"janus": Janus, "aiortc": AiortcJson, "whip": Whip}[args.target](http, args.url)
        try:
            await pc.setLocalDescription(await pc.createOffer())
            t_post = time.monotonic()
            answer = await sig.answer(pc.localDescription.sdp)
            result["answer_ms"] = round((time.monotonic() - t_post) * 1000, 1)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            await asyncio.sleep(args.seconds)
        except Exception as e:  # any failure is the check's failure
            result["error"] = f"{type(e).__name__}: {e}"
        finally:
            try:
                await sig.close()
            except Exception:
                pass
            await pc.close()

    rates = {r for r, _ in got}
    audio = np.concatenate([s for _, s in got]) if got else np.zeros(0, np.int16)
    rate = rates.pop() if len(rates) == 1 else RATE
    result["received_s"] = round(len(audio) / rate, 2)
    if "t" in first:
        result["first_audio_ms"] = round((first["t"] - t_post) * 1000, 1)
    ok = "error" not in result and len(audio) >= 2 * rate
    if len(audio) >= rate:
        tail = audio[-rate:]
        hz, res = dominant_hz(tail, rate)
        result["dominant_hz"] = round(hz, 1)
        result["rms"] = round(float(np.sqrt(np.mean(tail.astype(np.float64) ** 2))), 1)
        ok = ok and abs(hz - TONE_HZ) <= res + 1
    result["pass"] = bool(ok)
    print("ECHO_CHECK " + json.dumps(result), flush=True)
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", choices=("janus", "aiortc", "whip"), required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--host-ip", required=True)
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
