#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/ws/: client byte streams built from the
RFC 6455 §5.7 examples and the frames voxgate's WebSocket paths carry, each
behind fuzz_ws's control byte (bit 0: max_message 64, bit 1: max_pending_out
512, bit 2: never drain output, bit 3: echo every message, bits 4-7: seed of
the piece sizes), and opening handshakes behind the control byte 0xFF.
Run from the repository root; the files it writes are committed."""
import os
import struct

OUT = "fuzz/corpus/ws"
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # RFC 6455 §5.7's masking key


def frame(b0, payload=b"", masked=True, form=None):
    """A client frame; `form` forces a 16- or 64-bit length."""
    n = len(payload)
    m = 0x80 if masked else 0
    if form is None and n < 126:
        head = bytes([b0, m | n])
    elif form == 16 or (form is None and n < 65536):
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    return head + KEY + bytes(c ^ KEY[i % 4] for i, c in enumerate(payload))


def close(code, reason=b""):
    return frame(0x88, struct.pack(">H", code) + reason)


CONFIG_AUDIO = b'{"mode":"transcribe","codec":"pcm16","sample_rate":16000}'
VOSK_CONFIG = b'{"config":{"sample_rate":16000}}'
PCM_20MS = bytes((i * 37) & 0xFF for i in range(640))

SEEDS = {
    # RFC 6455 §5.7, byte for byte
    "rfc_masked_hello": (0x00, bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D,
                                      0x7F, 0x9F, 0x4D, 0x51, 0x58])),
    "rfc_unmasked_hello": (0x00, bytes([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])),
    "rfc_fragmented": (0x18, frame(0x01, b"Hel") + frame(0x80, b"lo")),
    "rfc_ping": (0x20, bytes([0x89, 0x85, 0x37, 0xFA, 0x21, 0x3D,
                              0x7F, 0x9F, 0x4D, 0x51, 0x58])),
    "rfc_binary_256": (0x38, frame(0x82, bytes(range(256)))),
    "rfc_binary_64k_start": (0x00, frame(0x82, bytes(65536), form=64)[:600]),
    # the sessions voxgate serves: /ws/audio, /ws/asr, then a clean close
    "audio_session": (0x48, frame(0x81, CONFIG_AUDIO) + frame(0x82, PCM_20MS)
                      + frame(0x82, PCM_20MS) + close(1000, b"done")),
    "vosk_session": (0x58, frame(0x81, VOSK_CONFIG) + frame(0x82, PCM_20MS[:300])
                     + frame(0x81, b'{"eof" : 1}') + close(1000)),
    "ping_between_fragments": (0x68, frame(0x01, b"caf\xc3") + frame(0x89, b"x")
                               + frame(0x80, b"\xa9") + frame(0x8A, b"")),
    "close_no_code": (0x00, frame(0x88)),
    "close_reason_utf8": (0x78, close(1001, "au revoir \u00e9".encode())),
    "after_close": (0x08, close(1000) + frame(0x81, b"late")),
    # what the server must refuse
    "oversize_small_max": (0x01, frame(0x82, bytes(100))),
    "oversize_fragments": (0x09, frame(0x02, bytes(40)) + frame(0x80, bytes(40))),
    "bad_utf8": (0x00, frame(0x81, b"\xc0\xaf") + frame(0x81, b"ok")),
    "bad_utf8_split": (0x00, frame(0x01, b"ab\xe2\x82") + frame(0x80, b"x")),
    "bad_opcode": (0x00, frame(0x83, b"x")),
    "rsv1": (0x00, frame(0xC1, b"x")),
    "orphan_continuation": (0x00, frame(0x80, b"x")),
    "fragmented_ping": (0x00, frame(0x09, b"x")),
    "long_ping": (0x00, frame(0x89, bytes(126))),
    "nonminimal_length": (0x00, frame(0x82, bytes(10), form=16)),
    "bad_close_code": (0x00, frame(0x88, struct.pack(">H", 1005))),
    # opening handshakes: RFC 6455 §1.2, Chromium, Firefox, refusals
    "hs_rfc": (0xFF, (
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n").encode()),
    "hs_chromium": (0xFF, (
        "GET /ws/audio HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nConnection: Upgrade\r\n"
        "Pragma: no-cache\r\nUpgrade: websocket\r\nOrigin: https://127.0.0.1:8443\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n").encode()),
    "hs_firefox": (0xFF, (
        "GET /whip/abc/events HTTP/1.1\r\nHost: example.org\r\nUpgrade: websocket\r\n"
        "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n").encode()),
    "hs_version_8": (0xFF, (
        "GET /ws/asr HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n").encode()),
    "hs_short_key": (0xFF, (
        "GET /ws/asr HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()),
    # a client that pings and never reads (small output bound)
    "ping_flood": (0x06, frame(0x89, bytes(125)) * 75),
}

os.makedirs(OUT, exist_ok=True)
for name, (control, stream) in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([control]) + stream)
