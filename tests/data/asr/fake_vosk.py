#!/usr/bin/python3
"""A fake Vosk server for the websocket engine's tests.

Speaks the Vosk websocket protocol (config message, binary PCM, partial and
result replies, {"eof" : 1}) but "recognises" by energy: a loud stretch is
the word "tone". Listens on 127.0.0.1 on a free port and prints the port
on stdout.

    fake_vosk.py MODE

MODE:
  normal     a reply per audio message; a result when a loud stretch ends;
             the last result after eof, then close (as vosk-server does)
  stats      after eof: a result whose text reports what was received
             ("received N bytes in M messages at R Hz words W")
  close      after about 1 s of audio: close with 1011 "recognizer crashed"
  drop       after about 1 s of audio: drop the TCP connection, no close frame
  badaccept  plain TCP: a 101 response with a wrong Sec-WebSocket-Accept
  http404    plain TCP: an HTTP 404 response
  silent     plain TCP: accept and never answer
"""
import array
import asyncio
import json
import math
import sys

import websockets

MODE = sys.argv[1] if len(sys.argv) > 1 else "normal"
RATE = 16000
FRAME = RATE // 50  # 20 ms
LOUD = 1000.0       # RMS that counts as "speech"
END_FRAMES = 15     # 300 ms of quiet ends an utterance


class Recogniser:
    def __init__(self, rate):
        self.rate = rate
        self.frames = 0
        self.in_speech = False
        self.quiet = 0
        self.start = 0.0
        self.rest = b""

    def result(self, end_frame):
        start, end = self.start, end_frame * FRAME / self.rate
        return {"result": [{"conf": 1.0, "end": round(end, 3), "start": round(start, 3),
                            "word": "tone"}], "text": "tone"}

    def accept(self, data):
        """Returns the reply to one audio message (a partial or a result)."""
        data = self.rest + data
        usable = len(data) // (FRAME * 2) * FRAME * 2
        self.rest = data[usable:]
        reply = None
        for off in range(0, usable, FRAME * 2):
            s = array.array("h")
            s.frombytes(data[off:off + FRAME * 2])
            if sys.byteorder == "big":
                s.byteswap()
            level = math.sqrt(sum(x * x for x in s) / len(s))
            self.frames += 1
            if level >= LOUD:
                if not self.in_speech:
                    self.in_speech = True
                    self.start = (self.frames - 1) * FRAME / self.rate
                self.quiet = 0
            elif self.in_speech:
                self.quiet += 1
                if self.quiet >= END_FRAMES:
                    self.in_speech = False
                    reply = self.result(self.frames - self.quiet)
        if reply:
            return reply
        return {"partial": "tone" if self.in_speech else ""}

    def final(self):
        if self.in_speech:
            self.in_speech = False
            return self.result(self.frames)
        return {"text": ""}


async def handler(ws, path=None):
    rec = None
    rate = RATE
    words = 0
    received = 0
    messages = 0
    while True:
        try:
            msg = await ws.recv()
        except websockets.ConnectionClosed:
            return
        if isinstance(msg, str) and "config" in msg:
            cfg = json.loads(msg)["config"]
            rate = int(cfg.get("sample_rate", RATE))
            words = int(cfg.get("words", 0))
            continue
        if rec is None:
            rec = Recogniser(rate)
        if msg == '{"eof" : 1}':
            if MODE == "stats":
                reply = {"text": "received %d bytes in %d messages at %d Hz words %d"
                         % (received, messages, rate, words)}
            else:
                reply = rec.final()
            await ws.send(json.dumps(reply))
            return  # the library closes with 1000, as vosk-server does
        if isinstance(msg, str):
            continue
        received += len(msg)
        messages += 1
        if MODE == "close" and received >= RATE * 2:
            await ws.close(code=1011, reason="recognizer crashed")
            return
        if MODE == "drop" and received >= RATE * 2:
            ws.transport.abort()
            return
        await ws.send(json.dumps(rec.accept(msg)))


async def raw_handler(reader, writer):
    if MODE == "silent":
        await asyncio.sleep(3600)
        return
    await reader.readuntil(b"\r\n\r\n")
    if MODE == "badaccept":
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmcgd3Jvbmcgd3Jvbmc=\r\n\r\n")
    else:
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
    await writer.drain()
    await asyncio.sleep(3600)


async def main():
    if MODE in ("badaccept", "http404", "silent"):
        server = await asyncio.start_server(raw_handler, "127.0.0.1", 0)
    else:
        server = await websockets.serve(handler, "127.0.0.1", 0, max_size=None)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
