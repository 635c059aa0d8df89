#!/usr/bin/python3
"""aiortc side of bench-webrtc (Debian's python3-aiortc 1.4, run with
/usr/bin/python3).  Two modes:

  pair SECONDS SIZE BUFFER
      Two aiortc peers in this process (one asyncio loop, one thread), one
      reliable ordered data channel, SIZE-byte binary messages sent for
      SECONDS with bufferedAmount flow control (refill below BUFFER/4, up
      to BUFFER).  Prints "result BYTES SECONDS SETUP_MS": bytes received
      by the far side, from the first send until the far side got the
      last byte, and offer -> channel open.

  peer
      The answerer for the C offerer of bench-webrtc, speaking the line
      protocol of bench-webrtc's C peer on stdin/stdout (fields separated
      by one TAB; SDP as standard base64):
        in : offer SDP64 | cand CANDIDATE | close
        out: ready | answer SDP64 | cand CANDIDATE
      Data, on the channels the C side opens (8-byte fragment header on
      every message, wire.md 5.4): RPC_RELIABLE messages are echoed
      (header and all: one fragment each); on STREAM_RELIABLE the payload
      bytes are counted, and a one-byte logical message "E" is answered
      with the count as decimal text, then the count restarts.

Loopback only: aioice skips 127.0.0.1 when gathering host candidates, so
its address list is replaced by 127.0.0.1, and no STUN server is used.
"""

import asyncio
import base64
import struct
import sys
import time

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp


def _loopback_only(use_ipv4=True, use_ipv6=False):
    return ["127.0.0.1"]


aioice.ice.get_host_addresses = _loopback_only


def out(*fields):
    sys.stdout.write("\t".join(fields) + "\n")
    sys.stdout.flush()


def new_pc():
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


# ---- pair --------------------------------------------------------------------------------
async def pair(seconds, size, buffer):
    a, b = new_pc(), new_pc()
    done = asyncio.get_running_loop().create_future()
    opened = asyncio.Event()
    state = {"received": 0, "expect": None, "t_last": 0.0}

    @b.on("datachannel")
    def on_datachannel(channel):
        @channel.on("message")
        def on_message(message):
            state["received"] += len(message)
            state["t_last"] = time.monotonic()
            if state["expect"] is not None and state["received"] >= state["expect"]:
                if not done.done():
                    done.set_result(None)

    channel = a.createDataChannel("STREAM_RELIABLE", ordered=True)
    channel.bufferedAmountLowThreshold = buffer // 4
    channel.on("open", opened.set)
    t_setup = time.monotonic()
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await asyncio.wait_for(opened.wait(), 20)
    setup_ms = (time.monotonic() - t_setup) * 1000

    payload = bytes(size)
    low = asyncio.Event()
    channel.on("bufferedamountlow", low.set)
    sent = 0
    t0 = time.monotonic()
    deadline = t0 + seconds
    while time.monotonic() < deadline:
        while channel.bufferedAmount < buffer and time.monotonic() < deadline:
            channel.send(payload)
            sent += size
        low.clear()
        if channel.bufferedAmount >= buffer:
            await low.wait()
    state["expect"] = sent
    if state["received"] < sent:
        await asyncio.wait_for(done, 60)
    elapsed = state["t_last"] - t0
    out("result", str(state["received"]), "%.6f" % elapsed, "%.1f" % setup_ms)
    await a.close()
    await b.close()


# ---- peer --------------------------------------------------------------------------------
class Peer:
    def __init__(self):
        self.pc = None
        self.pending = []
        self.remote_set = False
        self.count = 0

    async def close(self):
        if self.pc is not None:
            pc, self.pc = self.pc, None
            await pc.close()
        self.remote_set = False
        self.pending = []

    def attach(self, channel):
        label = channel.label
        if label == "RPC_RELIABLE":
            @channel.on("message")
            def echo(message):
                channel.send(message)
        elif label == "STREAM_RELIABLE":
            @channel.on("message")
            def count(message):
                _, index, total = struct.unpack(">IHH", message[:8])
                if total == 1 and len(message) == 9 and message[8:] == b"E":
                    text = str(self.count).encode()
                    channel.send(struct.pack(">IHH", 0, 0, 1) + text)
                    self.count = 0
                else:
                    self.count += len(message) - 8

    async def add_candidate(self, text):
        body = text[len("candidate:"):] if text.startswith("candidate:") else text
        cand = candidate_from_sdp(body)
        cand.sdpMid = "0"
        cand.sdpMLineIndex = 0
        await self.pc.addIceCandidate(cand)

    async def on_offer(self, sdp):
        await self.close()
        self.pc = new_pc()
        self.pc.on("datachannel", self.attach)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self.remote_set = True
        pending, self.pending = self.pending, []
        for text in pending:
            await self.add_candidate(text)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        out("answer", base64.b64encode(self.pc.localDescription.sdp.encode()).decode())

    async def run(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        out("ready")
        while True:
            line = await reader.readline()
            if not line:
                break
            fields = line.decode().rstrip("\n").split("\t")
            if fields[0] == "offer":
                await self.on_offer(base64.b64decode(fields[1]).decode())
            elif fields[0] == "cand":
                if self.remote_set:
                    await self.add_candidate(fields[1])
                else:
                    self.pending.append(fields[1])
            elif fields[0] == "close":
                await self.close()
        await self.close()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "pair":
        asyncio.run(pair(float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    elif len(sys.argv) == 2 and sys.argv[1] == "peer":
        asyncio.run(Peer().run())
    else:
        sys.stderr.write("usage: bench-webrtc-aiortc.py pair SECONDS SIZE BUFFER | peer\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
