#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/wsaudio/: client byte streams of
/ws/audio and /ws/asr as fuzz_wsaudio reads them: a control byte (bits 0-1:
the audio config binary messages are checked against, 0 opus/48000,
1 pcm16/16000, 2 pcm16/8000, 3 pcm16/48000; bits 2-7: where the stream is
cut for the second feeding), then masked client frames (RFC 6455 §5.3).
Run from the repository root; the files it writes are committed."""
import os
import struct

OUT = "fuzz/corpus/wsaudio"
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # RFC 6455 §5.7's masking key


def frame(b0, payload=b""):
    """One masked client frame (FIN and opcode in b0)."""
    n = len(payload)
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n < 65536:
        head = bytes([b0, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, 0x80 | 127]) + struct.pack(">Q", n)
    return head + KEY + bytes(c ^ KEY[i % 4] for i, c in enumerate(payload))


def text(s):
    return frame(0x81, s if isinstance(s, bytes) else s.encode())


def binary(b):
    return frame(0x82, b)


def close(code, reason=b""):
    return frame(0x88, struct.pack(">H", code) + reason)


# A real 20 ms Opus packet (SILK wideband, 1 frame: TOC 0x48) and CELT
# fullband code 3 with 3 frames (60 ms) — the check reads only the framing.
OPUS_20MS = bytes([0x48]) + bytes((i * 29) & 0xFF for i in range(60))
OPUS_CODE3 = bytes([0xFB, 0x03]) + bytes(90)
PCM_20MS = bytes((i * 37) & 0xFF for i in range(640))

SEEDS = {
    "audio_echo_opus": (0x20, text('{"mode":"echo","codec":"opus","sample_rate":48000}')
                        + binary(OPUS_20MS) + binary(OPUS_CODE3)
                        + text('{"type":"ping","t":1234.5678901234}') + text('{"type":"stop"}')
                        + close(1000)),
    "audio_transcribe_pcm": (0x41, text('{"mode":"transcribe","codec":"pcm16","sample_rate":16000,'
                                        '"channels":1}') + binary(PCM_20MS) + binary(PCM_20MS[:3])
                             + text('{"eof":1}')),
    "audio_pcm48_float_rate": (0x0F, text('{"mode":"echo","codec":"pcm16","sample_rate":48000.0}')
                               + binary(bytes(1920)) + text('{"type":"ping","t":-7}')),
    "audio_bad_fields": (0x10, text('{"mode":"echo","codec":"mp3","sample_rate":48000}')
                         + text('{"mode":"sing","codec":"opus","sample_rate":48000}')
                         + text('{"mode":"echo","codec":"opus","sample_rate":16000}')
                         + text('{"mode":"echo","codec":"pcm16","sample_rate":16000,"channels":2}')
                         + text('{"type":"ping"}') + text('{"type":7}') + text('[1,2]')
                         + text('{"a":1,"a":2}') + text('{not json')),
    "audio_fragmented_config": (0x31, frame(0x01, b'{"mode":"echo",') + frame(0x00, b'"codec":"pcm16",')
                                + frame(0x89, b"ping") + frame(0x80, b'"sample_rate":8000}')
                                + binary(PCM_20MS)),
    "vosk_session": (0x25, text('{ "config" : { "sample_rate" : 16000.0, "words" : 1 } }')
                     + binary(bytes(6400)) + binary(PCM_20MS) + text('{"eof" : 1}') + close(1000)),
    "vosk_other_keys": (0x1D, text('{"config":{"phrase_list":["go","forward"],"max_alternatives":0}}')
                        + text('{"config":{"sample_rate":96000}}') + text('{"reset":1}')
                        + text('{"config":1}')),
    "raw_config_text": (0x00, b'{"mode":"transcribe","codec":"opus","sample_rate":48000}'),
    "raw_vosk_eof": (0x03, b'{"eof" : 1}'),
    "raw_opus_packet": (0x00, OPUS_20MS),
    "raw_pcm_odd": (0x01, PCM_20MS[:5]),
    "audio_unicode_escape": (0x2A, text('{"mode":"ech\\u006f","codec":"pcm16","sample_rate":16000}')
                             + text('{"type":"ping","t":1e308}') + text('{"type":"ping","t":-0.0}')),
}

os.makedirs(OUT, exist_ok=True)
for name, (ctl, stream) in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([ctl]) + stream)
