#!/usr/bin/python3
"""A Vosk-protocol client for voxgate's /ws/asr, written to vosk-server's
documentation: it streams a WAV file the way vosk-server's test client
(websocket/test.py) does and prints the recognized text.

    vosk_client.py [--token T] [--verbose] ws://HOST:PORT/ws/asr speech.wav

The protocol, as the test client speaks it:
  1. text  { "config" : { "sample_rate" : <the WAV's rate> } }
  2. binary 0.2 s of 16-bit mono PCM, then wait for exactly one reply:
     {"partial": "..."} or {"result": [{"conf","start","end","word"}, ...],
     "text": "..."} — repeated until the file ends;
  3. text  {"eof" : 1}, then the last reply (the final result);
  4. the server closes the connection (1000).

Prints the text of every result, joined, on stdout. Exits 0 when the server
kept to the protocol (one reply per message, a final result, close 1000),
1 otherwise (the reason on stderr). Needs python3-websockets (Debian).
"""
import argparse
import asyncio
import json
import sys
import wave

import websockets


def fail(msg):
    print(f"vosk_client: {msg}", file=sys.stderr)
    sys.exit(1)


async def run(uri, path, token, verbose):
    with wave.open(path, "rb") as wf:
        if wf.getnchannels() != 1 or wf.getsampwidth() != 2:
            fail(f"{path}: need 16-bit mono PCM (sox in.wav -b 16 -c 1 out.wav)")
        rate = wf.getframerate()
        headers = {"Authorization": f"Bearer {token}"} if token else None
        texts = []
        async with websockets.connect(uri, extra_headers=headers, max_size=2**20) as ws:
            await ws.send('{ "config" : { "sample_rate" : %d } }' % rate)
            buffer_size = int(rate * 0.2)  # 0.2 seconds of audio, as test.py
            chunks = 0
            while True:
                data = wf.readframes(buffer_size)
                if len(data) == 0:
                    break
                await ws.send(data)
                chunks += 1
                reply = json.loads(await ws.recv())
                if verbose:
                    print(json.dumps(reply), file=sys.stderr)
                if "partial" not in reply and "text" not in reply:
                    fail(f"reply {chunks} is neither a partial nor a result: {reply}")
                if reply.get("text"):
                    texts.append(reply["text"])
            await ws.send('{"eof" : 1}')
            reply = json.loads(await ws.recv())
            if verbose:
                print(json.dumps(reply), file=sys.stderr)
            if "text" not in reply:
                fail(f"the reply to eof is not a final result: {reply}")
            if reply["text"]:
                texts.append(reply["text"])
            try:
                extra = await asyncio.wait_for(ws.recv(), timeout=5)
                fail(f"a message after the final result: {extra!r}")
            except websockets.exceptions.ConnectionClosed:
                pass
            if ws.close_code != 1000:
                fail(f"closed with {ws.close_code} {ws.close_reason!r}, not 1000")
    print(" ".join(texts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("uri", help="e.g. ws://127.0.0.1:8080/ws/asr")
    ap.add_argument("wav", help="16-bit mono WAV, any rate from 8000 to 48000")
    ap.add_argument("--token", help="voxgate's --token, sent as a bearer token")
    ap.add_argument("--verbose", action="store_true", help="print every reply on stderr")
    args = ap.parse_args()
    try:
        asyncio.run(run(args.uri, args.wav, args.token, args.verbose))
    except (OSError, websockets.exceptions.WebSocketException) as e:
        fail(f"{args.uri}: {e}")


if __name__ == "__main__":
    main()
