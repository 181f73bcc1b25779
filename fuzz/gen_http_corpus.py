#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/http/: the requests voxgate serves
(SERVER.md), each behind fuzz_http's control byte (bit 7: small max_body,
bits 0-6: where the stream is split in two reads). Run from the repository
root; the files it writes are committed."""
import os

OUT = "fuzz/corpus/http"
with open("tests/data/sdp/chromium-offer.sdp", "rb") as f:
    OFFER = f.read()
FRAG = b"a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=mid:0\r\n"


def req(line, headers=(), body=b""):
    out = line.encode() + b"\r\n"
    for name, value in headers:
        out += f"{name}: {value}\r\n".encode()
    return out + b"\r\n" + body


def chunked(body, size):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


SEEDS = {
    "whip_post": (0x40, req("POST /whip?mode=echo HTTP/1.1", [
        ("Host", "localhost:8080"), ("Content-Type", "application/sdp"),
        ("Authorization", "Bearer s3cret"), ("Origin", "http://localhost:8080"),
        ("Content-Length", str(len(OFFER)))], OFFER)),
    "whip_patch": (0x7f, req("PATCH /whip/6f1c2b HTTP/1.1", [
        ("Host", "localhost"), ("Content-Type", "application/trickle-ice-sdpfrag"),
        ("If-Match", '"6f1c2b"'), ("Content-Length", str(len(FRAG)))], FRAG)),
    "whip_delete": (0x10, req("DELETE /whip/6f1c2b HTTP/1.1", [("Host", "localhost")])),
    "whip_options": (0x20, req("OPTIONS /whip HTTP/1.1", [
        ("Host", "localhost"), ("Origin", "https://example.org"),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "authorization, content-type")])),
    "get_index": (0x00, req("GET / HTTP/1.1", [
        ("Host", "127.0.0.1:8080"), ("User-Agent", "Mozilla/5.0"),
        ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        ("Accept-Encoding", "gzip, deflate, br"), ("Connection", "keep-alive")])),
    "get_http10": (0x05, req("GET /healthz HTTP/1.0")),
    "chunked_small_max": (0xc0, req("POST /whip%2Fx?mode=echo&a=%41+b HTTP/1.1", [
        ("Transfer-Encoding", "chunked"), ("Content-Type", "application/sdp; charset=utf-8")],
        chunked(OFFER[:150], 40)[:-2] + b"X-Trailer: 1\r\n\r\n")),
    "pipelined": (0x33, req("GET /api/sessions HTTP/1.1", [("Host", "x")])
                  + req("HEAD /app.js HTTP/1.1", [("Host", "x")])
                  + req("POST /whip HTTP/1.1", [("Content-Length", "3"), ("Expect", "100-continue")], b"abc")
                  + req("GET /style.css HTTP/1.1", [("Connection", "close")])),
    "websocket": (0x50, req("GET /ws HTTP/1.1", [
        ("Host", "x"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")])
        + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
    "bad_escape": (0x01, req("GET /a%zz HTTP/1.1")),
}

os.makedirs(OUT, exist_ok=True)
for name, (ctl, data) in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([ctl]) + data)
