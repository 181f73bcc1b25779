#!/usr/bin/python3
"""An echo server written with aiortc: the side-by-side reference for
bench/connect.sh and bench/compare.sh, and a stand-in to check the test
clients against a peer nobody here wrote.

  POST /whip?mode=echo (application/sdp) -> 201, answer, Location /whip/<id>
  DELETE /whip/<id>                      -> 200
  POST /offer  {"sdp": ..., "type": "offer"} (application/json)
               -> 200 {"sdp": ..., "type": "answer", "pc": <id>}
               aiortc's own JSON offer endpoint (its examples/server);
               "pc" is an addition that names the session for /close
  POST /close  {"pc": <id>}                -> 200 {}, or 404
               ends a session at once, without waiting for the peer's
               consent checks to lapse (a client may also just stop: the
               session then ends on DTLS close_notify or ICE consent
               failure, ~30 s later)
  GET /sessions                            -> 200 {"sessions": <open>}

The answer's only host address is --host-ip (aioice skips 127.0.0.1 when it
gathers, so the address is forced). Run it inside a network namespace.
"""

import argparse
import json
import uuid

import aioice.ice
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

sessions = {}


async def answer_offer(offer):
    """Creates an echoing peer connection for the SDP offer; returns its id
    and the answer SDP (gathering is complete: the answer holds the
    candidates)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sid = uuid.uuid4().hex[:12]
    sessions[sid] = pc

    @pc.on("track")
    def on_track(track):
        pc.addTrack(track)  # echo: the received track goes straight back

    @pc.on("connectionstatechange")
    async def on_state():
        if pc.connectionState in ("failed", "closed"):
            sessions.pop(sid, None)
            await pc.close()

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    return sid, pc.localDescription.sdp


async def post_whip(request):
    if request.content_type != "application/sdp":
        return web.Response(status=415, text="expected application/sdp\n")
    sid, answer = await answer_offer(await request.text())
    return web.Response(status=201, text=answer, content_type="application/sdp",
                        headers={"Location": f"/whip/{sid}", "ETag": f'"{sid}"'})


async def delete_whip(request):
    pc = sessions.pop(request.match_info["sid"], None)
    if pc is None:
        return web.Response(status=404, text="no such session\n")
    await pc.close()
    return web.Response(status=200)


async def post_offer(request):
    try:
        params = await request.json()
    except ValueError:
        return web.json_response({"error": "expected a JSON body"}, status=400)
    if not isinstance(params, dict) or params.get("type") != "offer" \
            or not isinstance(params.get("sdp"), str):
        return web.json_response({"error": 'expected {"sdp": ..., "type": "offer"}'}, status=400)
    sid, answer = await answer_offer(params["sdp"])
    return web.json_response({"sdp": answer, "type": "answer", "pc": sid})


async def post_close(request):
    try:
        params = await request.json()
    except ValueError:
        return web.json_response({"error": "expected a JSON body"}, status=400)
    pc = sessions.pop(params.get("pc"), None) if isinstance(params, dict) else None
    if pc is None:
        return web.json_response({"error": "no such session"}, status=404)
    await pc.close()
    return web.json_response({})


async def get_sessions(request):
    return web.json_response({"sessions": len(sessions)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host-ip", required=True)
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [args.host_ip]
    app = web.Application()
    app.router.add_post("/whip", post_whip)
    app.router.add_delete("/whip/{sid}", delete_whip)
    app.router.add_post("/offer", post_offer)
    app.router.add_post("/close", post_close)
    app.router.add_get("/sessions", get_sessions)
    web.run_app(app, host=args.host_ip, port=args.port, print=lambda *a: None)


if __name__ == "__main__":
    main()
