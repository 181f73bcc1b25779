#!/usr/bin/python3
"""A WHIP echo server written with aiortc: the side-by-side reference for
bench/connect.sh and a stand-in to check the test clients against a peer
nobody here wrote.

  POST /whip?mode=echo (application/sdp) -> 201, answer, Location /whip/<id>
  DELETE /whip/<id>                      -> 200

The answer's only host address is --host-ip (aioice skips 127.0.0.1 when it
gathers, so the address is forced). Run it inside a network namespace.
"""

import argparse
import asyncio
import uuid

import aioice.ice
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

sessions = {}


async def post_whip(request):
    if request.content_type != "application/sdp":
        return web.Response(status=415, text="expected application/sdp\n")
    offer = await request.text()
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
    return web.Response(status=201, text=pc.localDescription.sdp, content_type="application/sdp",
                        headers={"Location": f"/whip/{sid}", "ETag": f'"{sid}"'})


async def delete_whip(request):
    pc = sessions.pop(request.match_info["sid"], None)
    if pc is None:
        return web.Response(status=404, text="no such session\n")
    await pc.close()
    return web.Response(status=200)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host-ip", required=True)
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [args.host_ip]
    app = web.Application()
    app.router.add_post("/whip", post_whip)
    app.router.add_delete("/whip/{sid}", delete_whip)
    web.run_app(app, host=args.host_ip, port=args.port, print=lambda *a: None)


if __name__ == "__main__":
    main()
