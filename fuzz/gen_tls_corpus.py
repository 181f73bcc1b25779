#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/tls/: what clients send first on a new
HTTPS connection, as fuzz_tls reads it (the raw stream, no control byte).
Run from the repository root; the files it writes are committed (a capture
differs on every run: client randoms and key shares are fresh).

- ClientHellos from Python's ssl module (the system OpenSSL) in memory:
  browser-like (SNI, ALPN h2 + http/1.1), TLS 1.2 only, h2-only ALPN, and
  a bare one (no SNI, no ALPN).
- Whole client streams of a real handshake against a throwaway server
  (ClientHello, then the client's second flight and an HTTP request, for
  TLS 1.3 and 1.2): fuzz_tls's server has another key, so these exercise
  records that fail to decrypt or to verify.
- With --browsers: the first bytes curl and headless Chromium send to a
  listener on 127.0.0.1 (no traffic leaves the host).
- Operation lists for fuzz_tls's session mode (first byte 0xff, then the
  version byte, then (op, arg) pairs; see fuzz_tls.c).
crash_* files are inputs the fuzzer found; this script does not write them.
"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

OUT = "fuzz/corpus/tls"
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost:8443\r\nAccept: */*\r\n\r\n"


def client_ctx(max_version=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if max_version:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def client_hello(ctx, sni):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def full_stream(tmp, max_version):
    """The client's side of a whole handshake plus one request."""
    cert, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    sctx.set_alpn_protocols(["http/1.1"])
    cctx = client_ctx(max_version, ["h2", "http/1.1"])
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = cctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    s = sctx.wrap_bio(s_in, s_out, server_side=True)
    stream = b""
    for _ in range(10):
        for side in (c, s):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        data = c_out.read()
        stream += data
        s_in.write(data)
        c_in.write(s_out.read())
    c.write(REQUEST)
    stream += c_out.read()
    return stream


def capture(argv_for_port, timeout=8.0):
    """Starts `argv_for_port(port)` and returns what it sends first."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(timeout)
    port = srv.getsockname()[1]
    proc = subprocess.Popen(argv_for_port(port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    data = b""
    try:
        conn, _ = srv.accept()
        conn.settimeout(1.0)
        # One whole record: 5-byte header with its length.
        while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
            part = conn.recv(65536)
            if not part:
                break
            data += part
        conn.close()
    except socket.timeout:
        pass
    finally:
        proc.kill()
        proc.wait()
        srv.close()
    return data


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "hello_browser_like": client_hello(client_ctx(alpn=["h2", "http/1.1"]), "localhost"),
        "hello_tls12_only": client_hello(
            client_ctx(ssl.TLSVersion.TLSv1_2, ["http/1.1"]), "voxgate.lan"),
        "hello_h2_only": client_hello(client_ctx(alpn=["h2"]), "localhost"),
        "hello_bare": client_hello(client_ctx(), None),
        "plain_http": REQUEST,
    }
    # Session mode: op % 8 = 0/1 client writes, 2 garbage record, 3 client
    # close_notify, 4 server close, 5 server writes, 6 server reads,
    # 7 KeyUpdate.
    seeds["session_tls13_exchange"] = bytes(
        [0xff, 0, 1, 200, 6, 255, 5, 100, 7, 0, 0, 40, 6, 200, 3, 0, 6, 255, 4, 0])
    seeds["session_tls12_close_first"] = bytes(
        [0xff, 1, 0, 10, 5, 3, 4, 0, 5, 1, 1, 9, 6, 100, 3, 0, 6, 100])
    seeds["session_garbage_record"] = bytes(
        [0xff, 0, 1, 30, 2, 9, 0x17, 3, 3, 0, 4, 1, 2, 3, 4, 6, 255, 5, 1])
    seeds["session_flood"] = bytes([0xff, 0] + [0, 255] * 20 + [6, 255])
    with tempfile.TemporaryDirectory() as tmp:
        seeds["stream_tls13"] = full_stream(tmp, None)
        seeds["stream_tls12"] = full_stream(tmp, ssl.TLSVersion.TLSv1_2)
        if "--browsers" in sys.argv:
            seeds["hello_curl"] = capture(lambda p: [
                "curl", "-sk", "--max-time", "3", f"https://localhost:{p}/"])
            profile = os.path.join(tmp, "chromium")
            seeds["hello_chromium"] = capture(lambda p: [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--no-first-run", f"--user-data-dir={profile}",
                "--ignore-certificate-errors", f"https://localhost:{p}/"], timeout=30)
    for name, data in seeds.items():
        if not data:
            print(f"{name}: nothing captured, skipped", file=sys.stderr)
            continue
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
