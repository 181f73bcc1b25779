#!/usr/bin/python3
"""Serves page.html and stores the SDP a browser POSTs back.

usage: server.py PORT OUTDIR
POST /sdp/<name>   -> OUTDIR/<name>.sdp
POST /error/<name> -> OUTDIR/<name>.err
POST /answer/<name> -> runs OUTDIR/answer_tool on the offer, returns the answer
"""
import http.server
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = int(sys.argv[1])
OUT = sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if not self.path.startswith('/page.html'):
            self.send_error(404)
            return
        with open(os.path.join(HERE, 'page.html'), 'rb') as f:
            body = f.read()
        self.send_response(200)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        m = re.fullmatch(r'/(sdp|error|answer)/([a-z0-9_-]+)', self.path)
        if not m:
            self.send_error(404)
            return
        n = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(min(n, 1 << 20))
        if m.group(1) == 'answer':
            self.answer(m.group(2), body)
            return
        ext = 'sdp' if m.group(1) == 'sdp' else 'err'
        tmp = os.path.join(OUT, m.group(2) + '.' + ext + '.tmp')
        with open(tmp, 'wb') as f:
            f.write(body)
        os.rename(tmp, os.path.join(OUT, m.group(2) + '.' + ext))
        self.send_response(204)
        self.end_headers()

    def answer(self, name, offer):
        """Runs voxgate's answer builder (answer_tool, built by capture.sh)."""
        with open(os.path.join(OUT, name + '.offer'), 'wb') as f:
            f.write(offer)
        p = subprocess.run([os.path.join(OUT, 'answer_tool')], input=offer,
                           capture_output=True, timeout=10)
        body = p.stdout if p.returncode == 0 else p.stderr
        self.send_response(200 if p.returncode == 0 else 422)
        self.send_header('Content-Type', 'application/sdp')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write('capture server: ' + (fmt % args) + '\n')


http.server.ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
