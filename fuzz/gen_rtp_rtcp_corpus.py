#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/rtp/ and fuzz/corpus/rtcp/: a handful
of small RTP and RTCP packets (the layouts used in tests/unit/core). Run from
the repository root; the files it writes are committed."""
import os
import struct


def rtp(pt, seq, ts, ssrc, marker=False, csrcs=(), ext=None, payload=b"", pad=0):
    b0 = 0x80 | len(csrcs) | (0x20 if pad else 0) | (0x10 if ext is not None else 0)
    out = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    out += b"".join(struct.pack("!I", c) for c in csrcs)
    if ext is not None:
        profile, data = ext
        out += struct.pack("!HH", profile, len(data) // 4) + data
    out += payload
    if pad:
        out += b"\0" * (pad - 1) + bytes([pad])
    return out


def rtcp(count, pt, body, pad=0):
    body += b"\0" * (pad - 1) + bytes([pad]) if pad else b""
    return struct.pack("!BBH", 0x80 | (0x20 if pad else 0) | count, pt, len(body) // 4) + body


def block(ssrc, frac, lost, ext_seq, jitter, lsr, dlsr):
    return struct.pack("!IB", ssrc, frac) + (lost & 0xFFFFFF).to_bytes(3, "big") + \
        struct.pack("!IIII", ext_seq, jitter, lsr, dlsr)


def sr(ssrc, ntp, rts, pc, oc, blocks=()):
    return rtcp(len(blocks), 200, struct.pack("!IQIII", ssrc, ntp, rts, pc, oc) + b"".join(blocks))


def rr(ssrc, blocks=()):
    return rtcp(len(blocks), 201, struct.pack("!I", ssrc) + b"".join(blocks))


def sdes_cname(ssrc, cname):
    chunk = struct.pack("!IBB", ssrc, 1, len(cname)) + cname
    chunk += b"\0" * (4 - len(chunk) % 4)
    return rtcp(1, 202, chunk)


def bye(ssrcs, reason=b""):
    body = b"".join(struct.pack("!I", s) for s in ssrcs)
    if reason:
        body += bytes([len(reason)]) + reason
        body += b"\0" * (-len(body) % 4)
    return rtcp(len(ssrcs), 203, body)


def nack(sender, media, pairs):
    return rtcp(1, 205, struct.pack("!II", sender, media) +
                b"".join(struct.pack("!HH", p, b) for p, b in pairs))


def pli(sender, media):
    return rtcp(1, 206, struct.pack("!II", sender, media))


RTP = {
    "opus_min": rtp(111, 1, 960, 0x1234, payload=b"\xf8\xff\xfe"),
    "full": rtp(111, 4660, 48000, 0xDEADBEEF, True, (1, 2),
                (0xBEDE, b"\x10\x85\x22\x01\x02\x03\0\0"), b"\xf8\xff\xfe", 3),
    "two_byte": rtp(96, 1, 0, 42, ext=(0x1007, b"\x01\x00\x00\x14\x02\xab\xcd\x00"),
                    payload=b"\x01\x02"),
    "one_byte_stop": rtp(111, 65535, 0xFFFFFC40, 7, ext=(0xBEDE, b"\x10\xaa\xf0\x20\0\0\0\0"),
                         payload=b"\x00"),
    "padding_only": rtp(0, 9, 9, 9, pad=4),
    "csrc15": rtp(8, 2, 3, 4, csrcs=tuple(range(15)), payload=b"\x55" * 8),
    "ext_overrun": rtp(111, 1, 1, 1, ext=(0xBEDE, b"\x1f\0\0\0")),
    "short": b"\x80\x6f\x00\x01\x00",
}

RTCP = {
    "sr_sdes": sr(0x11223344, 0xE81D4A5B80000000, 123456, 500, 80000,
                  [block(0xAABBCCDD, 64, -2, 65541, 96, 0x4A5B8000, 0x18000)]) +
               sdes_cname(0x11223344, b"user@host"),
    "chromium_sr_sdes": sr(0xDEADBEEF, 0xE81D4A5B12345678, 0xCAFEBABE, 250, 40000) +
                        sdes_cname(0xDEADBEEF, b"aB3dE5gH7jK9mN1p"),
    "rr_nack_pli_bye": rr(1, [block(7, 255, -0x800000, 1, 0, 0, 0)]) +
                       nack(1, 7, [(1000, 0x8005), (1017, 0), (65535, 3)]) + pli(1, 7) +
                       bye([99], b"bye!"),
    "rr_empty": rr(0x01020304),
    "app_xr_other": rtcp(0, 204, struct.pack("!I", 1) + b"voxg") + rtcp(0, 207, struct.pack("!I", 2)),
    "padded_bye": rtcp(1, 203, struct.pack("!I", 0x0A0B0C0D) + b"\x04done", pad=3),
    "fb_other": rtcp(15, 205, struct.pack("!II", 1, 2) + b"\x00\x01\x02\x03") +
                rtcp(4, 206, struct.pack("!II", 1, 0) + struct.pack("!II", 2, 0x01000000)),
    "bad_length": b"\x81\xc8\x00\x0c\x11\x22\x33\x44",
}

for name, corpus in (("rtp", RTP), ("rtcp", RTCP)):
    d = os.path.join("fuzz", "corpus", name)
    os.makedirs(d, exist_ok=True)
    for k, v in corpus.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)
