#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/opus_rx/: record sequences for
fuzz_opus_rx.c (see its header for the record layout). Canned packets:
0-5 SILK 20 ms with FEC, 6-7 CELT 20 ms, 8-9 10 ms, 10-11 40 ms,
12-13 60 ms, 14-15 stereo 20 ms. Run from the repository root."""
import os
import random
import struct

RAW, CANNED, TICK, FLUSH = 0, 1, 2, 3
TS_RAW, SEQ_FAR, TS_LONG = 4, 8, 12


def rec(op, dseq=1, dts=8, step=20, arg=0, payload=b"", cap=0):
    out = struct.pack("<BbhBB", op | (cap << 4), dseq, dts, step, arg if op & 3 != RAW else len(payload))
    return out + payload


def stream(n, idx=lambda i: i % 6, units=8, step=20):
    return b"".join(rec(CANNED, 1, units, step, idx(i), cap=i % 16) for i in range(n))


def main():
    rnd = random.Random(5)
    d = "fuzz/corpus/opus_rx"
    os.makedirs(d, exist_ok=True)
    files = {
        "clean": stream(40),
        "loss": b"".join(rec(CANNED, 2 if i % 5 == 4 else 1, 16 if i % 5 == 4 else 8, 20, i % 6)
                         for i in range(40)),
        "reorder": b"".join(rec(CANNED, 2, 16, 20, i % 6) + rec(CANNED, -1, -8, 5, (i + 1) % 6)
                            + rec(CANNED, 1, 8, 0, i % 6) for i in range(12)),
        "dups": b"".join(rec(CANNED, 1, 8, 20, i % 6) + rec(CANNED, 0, 0, 1, i % 6)
                         for i in range(20)),
        "late": stream(5) + rec(CANNED, 2, 16, 20, 1) + stream(8) + rec(CANNED, -9, -72, 20, 2)
        + stream(5),
        "dtx": stream(10) + rec(CANNED | TS_RAW, 1, 168 * 120, 255, 0) + stream(10)
        + rec(CANNED | TS_LONG, 1, 120, 200, 1) + stream(10)
        + rec(CANNED | TS_LONG, 1, 800, 200, 1) + stream(5),
        "restart": stream(10) + rec(CANNED | SEQ_FAR, 100, 45, 20, 0)
        + rec(CANNED, 1, 8, 20, 1) + stream(10),
        "stray": stream(10) + rec(CANNED | SEQ_FAR, 60, 8, 1, 3) + rec(CANNED | SEQ_FAR, -60, -8, 1, 3)
        + stream(10),
        "garbage": stream(8) + rec(RAW, 1, 8, 20, payload=bytes([0x4b, 0x00])) + rec(RAW, 1, 8, 20)
        + rec(RAW, 1, 8, 20, payload=bytes(rnd.randrange(256) for _ in range(60))) + stream(8),
        "sizes": stream(10, lambda i: 8 + i % 2, 4, 10) + stream(6, lambda i: 10 + i % 2, 16, 40)
        + stream(6, lambda i: 12 + i % 2, 24, 60),
        "stereo_celt": stream(10, lambda i: 14 + i % 2) + stream(10, lambda i: 6 + i % 2),
        "wrap": rec(CANNED | TS_RAW, -3, -2000, 0, 0) + stream(12),
        "jumps": b"".join(rec(CANNED | (i % 4) * 4, rnd.randrange(-128, 128), rnd.randrange(-32768, 32768),
                              rnd.randrange(40), rnd.randrange(16), cap=rnd.randrange(16))
                          for i in range(40)),
        "full": rec(CANNED, 1, 8, 20, 0) + rec(CANNED, 2, 16, 0, 1)
        + b"".join(rec(CANNED, 1, 8, 0, i % 6) for i in range(70)) + rec(TICK, 0, 0, 100),
        "flush_mid": stream(5) + rec(CANNED, 3, 24, 20, 2) + rec(FLUSH, 0, 0, 0) + stream(5),
    }
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
