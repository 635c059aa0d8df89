#!/usr/bin/python3
"""aiortc peer for the actr interop tests (tests/interop).

Starts tests/interop/rtc-bridge as a subprocess, which registers an actor
with actrd and forwards signaling over its stdin/stdout (line protocol: see
the top of rtc-bridge.c).  This process then behaves as an actr node on the
WebRTC wire (wire.md §5.2-§5.5): role negotiation, OFFER/ANSWER with
sdp_exchange_id, trickled candidates, the four data channels, the 8-byte
fragment header, and RpcEnvelope requests/responses encoded by hand.

Modes:
  call  --target ACTR_ID --route R --sizes 1,102400 [--lane RPC_SIGNAL]
        [--tell] [--expect-error CODE]
        negotiates with TARGET, sends one request per size and checks that
        the reply payload equals the request payload (an echo route), or
        that every reply is error CODE; --tell first sends a tell and fails
        if anything replies to it.
  serve --route R --count N
        answers requests for R with their own payload (echo), any other
        route with error 10006; exits after N requests (0 = run until
        stdin/bridge closes or --timeout).

Global options: --answer-role (bridge connects with webrtc_role=answer),
--expect-role offerer|answerer (fail if actrd assigns the other role),
--candidates sdp|trickle|both (our candidates in the SDP, only trickled
with the SDP stripped of them, or both).

stdout (for the test driver): "SELF <id>", "ROLE <peer> offerer|answerer",
"CALL ok ...", "CALL error-ok ...", "SERVED ...", "TOLD ...", "TELL ...",
"DONE"; on failure "FAIL <why>" and exit 1.
Diagnostics go to stderr.

Run with Debian's /usr/bin/python3 (python3-aiortc 1.4.0).
"""

import argparse
import asyncio
import logging
import os
import re
import struct
import sys
import time
import uuid

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

LABELS = ["RPC_RELIABLE", "RPC_SIGNAL", "STREAM_RELIABLE", "STREAM_LATENCY_FIRST"]
MAX_FRAGMENT = 65527  # 65535-byte DataChannel message minus the 8-byte header
DIR_REQUEST, DIR_RESPONSE, DIR_TELL = 1, 2, 3
ERR_UNKNOWN_ROUTE = 10006

log = logging.getLogger("aiortc_peer")


# ---- loopback ICE --------------------------------------------------------------------
# aioice skips 127.0.0.1 when it gathers host candidates; the tests run on
# loopback only (the C node is configured with host_addresses = 127.0.0.1).
def _loopback_host_addresses(use_ipv4, use_ipv6):
    return ["127.0.0.1"] if use_ipv4 else []


aioice.ice.get_host_addresses = _loopback_host_addresses


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---- protobuf (proto2 wire format, by hand) -----------------------------------------
def _varint(n):
    if n < 0:
        n += 1 << 64
    b = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            b.append(byte | 0x80)
        else:
            b.append(byte)
            return bytes(b)


def _key(field, wtype):
    return _varint((field << 3) | wtype)


def _len_field(field, data):
    return _key(field, 2) + _varint(len(data)) + data


def _read_varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def pb_decode(buf):
    """{field: [values]}: varints as int, length-delimited as bytes."""
    fields = {}
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wtype = key >> 3, key & 7
        if wtype == 0:
            val, pos = _read_varint(buf, pos)
        elif wtype == 1:
            val, pos = buf[pos : pos + 8], pos + 8
        elif wtype == 2:
            n, pos = _read_varint(buf, pos)
            if pos + n > len(buf):
                raise ValueError("truncated field %d" % field)
            val, pos = bytes(buf[pos : pos + n]), pos + n
        elif wtype == 5:
            val, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError("wire type %d" % wtype)
        fields.setdefault(field, []).append(val)
    return fields


def encode_envelope(route_key, request_id, payload=None, error=None, direction=None,
                    timeout_ms=30000):
    """RpcEnvelope (package.proto): route_key=1, payload=2, error=3
    (ErrorResponse code=1, message=2), direction=4 (HEAD), request_id=102,
    timeout_ms=104; required fields always, in tag order."""
    b = _len_field(1, route_key.encode())
    if payload is not None:
        b += _len_field(2, payload)
    if error is not None:
        code, message = error
        b += _len_field(3, _key(1, 0) + _varint(code) + _len_field(2, message.encode()))
    if direction is not None:
        b += _key(4, 0) + _varint(direction)
    b += _len_field(102, request_id.encode())
    b += _key(104, 0) + _varint(timeout_ms)
    return b


def decode_envelope(data):
    f = pb_decode(data)
    env = {
        "route_key": f.get(1, [b""])[-1].decode(),
        "payload": f[2][-1] if 2 in f else None,
        "error": None,
        "direction": f[4][-1] if 4 in f else None,
        "request_id": f.get(102, [b""])[-1].decode(),
        "timeout_ms": f.get(104, [0])[-1],
    }
    if 3 in f:
        e = pb_decode(f[3][-1])
        env["error"] = (e.get(1, [0])[-1], e.get(2, [b""])[-1].decode(errors="replace"))
    if env["timeout_ms"] >= 1 << 63:
        env["timeout_ms"] -= 1 << 64
    return env


# ---- fragment header (wire.md §5.4) -------------------------------------------------
def fragments(msg_id, data):
    total = max(1, (len(data) + MAX_FRAGMENT - 1) // MAX_FRAGMENT)
    if total > 0xFFFF:
        raise ValueError("message too large")
    for i in range(total):
        chunk = data[i * MAX_FRAGMENT : (i + 1) * MAX_FRAGMENT]
        yield struct.pack(">IHH", msg_id & 0xFFFFFFFF, i, total) + chunk


class Reassembler:
    def __init__(self):
        self.partial = {}  # msg_id -> {index: bytes}

    def feed(self, message):
        if len(message) < 8:
            raise ValueError("DataChannel message shorter than 8 bytes")
        msg_id, index, total = struct.unpack(">IHH", message[:8])
        if total == 0 or index >= total:
            raise ValueError("bad fragment header %d/%d" % (index, total))
        if total == 1:
            return message[8:]
        parts = self.partial.setdefault(msg_id, {})
        parts[index] = message[8:]
        if len(parts) < total:
            return None
        del self.partial[msg_id]
        return b"".join(parts[i] for i in range(total))


# ---- one WebRTC session with one peer -----------------------------------------------
def sdp_mid(sdp):
    m = re.search(r"^a=mid:(\S+)", sdp, re.M)
    return m.group(1) if m else "0"


def sdp_candidates(sdp):
    return ["candidate:" + m for m in re.findall(r"^a=candidate:(.+?)\r?$", sdp, re.M)]


def strip_candidates(sdp):
    lines = [l for l in sdp.split("\r\n")
             if not l.startswith("a=candidate:") and l != "a=end-of-candidates"]
    return "\r\n".join(lines)


class Session:
    def __init__(self, peer_app, peer):
        self.app = peer_app
        self.peer = peer
        self.pc = None
        self.is_offerer = None
        self.exchange_id = None
        self.remote_set = False
        self.pending_candidates = []
        self.channels = {}
        self.msg_ids = {label: 0 for label in LABELS}
        self.reassembly = {}
        self.channel_open = {label: asyncio.Event() for label in LABELS}
        self.connected = asyncio.Event()

    async def close(self):
        if self.pc is not None:
            await self.pc.close()
            self.pc = None

    def _new_pc(self):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

        @pc.on("connectionstatechange")
        async def on_state():
            log.info("[%s] connection state %s", self.peer, pc.connectionState)
            if pc.connectionState == "connected":
                self.connected.set()
            if pc.connectionState == "failed":
                self.app.fail("peer connection with %s failed" % self.peer)

        @pc.on("datachannel")
        def on_datachannel(dc):
            log.info("[%s] inbound data channel %s (id %s)", self.peer, dc.label, dc.id)
            if dc.label in LABELS:
                self._attach(dc)

        return pc

    def _attach(self, dc):
        label = dc.label
        self.channels[label] = dc
        self.reassembly[label] = Reassembler()

        def opened():
            log.info("[%s] channel %s open", self.peer, label)
            self.channel_open[label].set()

        if dc.readyState == "open":
            opened()
        else:
            dc.on("open", opened)

        @dc.on("message")
        def on_message(message):
            if isinstance(message, str):
                self.app.fail("text message on %s" % label)
                return
            try:
                whole = self.reassembly[label].feed(message)
            except ValueError as e:
                self.app.fail("bad fragment on %s: %s" % (label, e))
                return
            if whole is not None:
                self.app.on_envelope(self, label, whole)

    def send(self, label, data):
        dc = self.channels.get(label)
        if dc is None or dc.readyState != "open":
            raise RuntimeError("channel %s not open" % label)
        msg_id = self.msg_ids[label]
        self.msg_ids[label] = (msg_id + 1) & 0xFFFFFFFF
        for frag in fragments(msg_id, data):
            dc.send(frag)

    async def _send_local_candidates(self):
        if self.app.args.candidates in ("trickle", "both"):
            for cand in sdp_candidates(self.pc.localDescription.sdp):
                self.app.bridge_send("candidate", self.peer, cand)

    def _local_sdp(self):
        sdp = self.pc.localDescription.sdp
        if self.app.args.candidates == "trickle":
            sdp = strip_candidates(sdp)
        return sdp

    async def offer(self):
        """Offerer path (wire.md §5.2/§5.3)."""
        await self.close()
        self.remote_set = False
        self.pc = self._new_pc()
        self._attach(self.pc.createDataChannel("RPC_RELIABLE", ordered=True))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.exchange_id = str(uuid.uuid4())
        self.app.bridge_send_sdp("offer", self.peer, self.exchange_id, self._local_sdp())
        self._attach(self.pc.createDataChannel("RPC_SIGNAL", ordered=True))
        self._attach(self.pc.createDataChannel("STREAM_RELIABLE", ordered=True))
        self._attach(self.pc.createDataChannel("STREAM_LATENCY_FIRST", ordered=False,
                                               maxRetransmits=3))
        await self._send_local_candidates()

    async def on_offer(self, xid, sdp):
        await self.close()
        self.remote_set = False
        self.is_offerer = False
        self.pc = self._new_pc()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self.remote_set = True
        await self._flush_candidates()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self.exchange_id = xid
        self.app.bridge_send_sdp("answer", self.peer, xid, self._local_sdp())
        await self._send_local_candidates()

    async def on_answer(self, xid, sdp):
        if self.pc is None or xid != self.exchange_id:
            log.warning("[%s] stale answer %s (pending %s) ignored", self.peer, xid,
                        self.exchange_id)
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self.remote_set = True
        await self._flush_candidates()

    async def on_candidate(self, text):
        self.app.stats["remote_candidates"] += 1
        if self.pc is None or not self.remote_set:
            self.pending_candidates.append(text)
            return
        await self._add_candidate(text)

    async def _flush_candidates(self):
        pending, self.pending_candidates = self.pending_candidates, []
        for text in pending:
            await self._add_candidate(text)

    async def _add_candidate(self, text):
        body = text[len("candidate:"):] if text.startswith("candidate:") else text
        try:
            cand = candidate_from_sdp(body)
        except Exception as e:  # a malformed candidate from the far side
            self.app.fail("bad remote candidate %r: %s" % (text, e))
            return
        cand.sdpMid = sdp_mid(self.pc.remoteDescription.sdp)
        cand.sdpMLineIndex = 0
        log.info("[%s] remote candidate %s", self.peer, text)
        await self.pc.addIceCandidate(cand)


# ---- the peer -----------------------------------------------------------------------
class Peer:
    def __init__(self, args):
        self.args = args
        self.bridge = None
        self.self_id = None
        self.sessions = {}
        self.pending = {}  # request_id -> Future
        self.roles = {}  # peer -> asyncio.Event with .value
        self.done = asyncio.Event()
        self.failure = None
        self.served = 0
        self.tells = set()  # request ids of our own tells (must get no reply)
        self.stats = {"remote_candidates": 0}

    def fail(self, why):
        log.error("FAIL: %s", why)
        if self.failure is None:
            self.failure = why
        self.done.set()

    # -- bridge I/O --
    def bridge_send(self, *fields):
        line = "\t".join(fields) + "\n"
        log.debug("-> bridge %s", line[:200].rstrip())
        self.bridge.stdin.write(line.encode())

    def bridge_send_sdp(self, verb, peer, xid, sdp):
        import base64

        log.info("[%s] sending %s xid=%s", peer, verb, xid)
        log.debug("local SDP:\n%s", sdp)
        self.bridge_send(verb, peer, xid, base64.b64encode(sdp.encode()).decode())

    async def start_bridge(self):
        a = self.args
        argv = [a.bridge, "--ais", a.ais, "--signaling", a.signaling, "--type", a.type,
                "--realm", str(a.realm)]
        if a.answer_role:
            argv.append("--answer-role")
        self.bridge = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=16 * 1024 * 1024)
        while True:
            line = await self.bridge.stdout.readline()
            if not line:
                raise RuntimeError("bridge exited before READY")
            line = line.decode().rstrip("\n")
            if line.startswith("READY "):
                self.self_id = line[len("READY "):]
                out("SELF " + self.self_id)
                return

    async def read_bridge(self):
        import base64

        while True:
            line = await self.bridge.stdout.readline()
            if not line:
                if not self.done.is_set():
                    self.fail("bridge closed its stdout")
                return
            f = line.decode().rstrip("\n").split("\t")
            verb = f[0]
            log.debug("<- bridge %s", line[:200].decode(errors="replace").rstrip())
            try:
                if verb == "role":
                    await self.on_role(f[1], f[2] == "1")
                elif verb in ("offer", "answer", "restart_offer", "renegotiation_offer"):
                    sdp = base64.b64decode(f[3]).decode()
                    log.info("[%s] received %s xid=%s", f[1], verb, f[2])
                    log.debug("remote SDP:\n%s", sdp)
                    if f[2] == "":
                        log.warning("description without sdp_exchange_id ignored")
                        continue
                    s = self.session(f[1])
                    if verb == "offer":
                        await s.on_offer(f[2], sdp)
                    elif verb == "answer":
                        await s.on_answer(f[2], sdp)
                    else:
                        log.warning("[%s] %s not supported by aiortc 1.4; ignored", f[1], verb)
                        out("NOTE %s from %s ignored" % (verb, f[1]))
                elif verb == "candidate":
                    await self.session(f[1]).on_candidate(f[2])
                elif verb == "restart_request":
                    log.warning("[%s] ICE restart requested (%s); ignored", f[1], f[2])
                    out("NOTE restart_request from %s" % f[1])
                elif verb == "error":
                    self.fail("signaling error %s: %s" % (f[1], f[2] if len(f) > 2 else ""))
                else:
                    log.warning("unknown bridge line %r", verb)
            except Exception as e:
                log.exception("handling %s", verb)
                self.fail("%s: %s" % (verb, e))

    def session(self, peer):
        s = self.sessions.get(peer)
        if s is None:
            s = self.sessions[peer] = Session(self, peer)
        return s

    async def on_role(self, peer, is_offerer):
        role = "offerer" if is_offerer else "answerer"
        log.info("[%s] role: %s", peer, role)
        out("ROLE %s %s" % (peer, role))
        if self.args.expect_role and self.args.expect_role != role:
            self.fail("expected to be %s with %s, actrd assigned %s" %
                      (self.args.expect_role, peer, role))
            return
        s = self.session(peer)
        s.is_offerer = is_offerer
        ev = self.roles.setdefault(peer, asyncio.Event())
        ev.set()
        if is_offerer:
            await s.offer()

    # -- RPC --
    def on_envelope(self, session, label, data):
        try:
            env = decode_envelope(data)
        except ValueError as e:
            self.fail("undecodable RpcEnvelope on %s: %s" % (label, e))
            return
        direction = env["direction"]
        rid = env["request_id"]
        is_response = (direction == DIR_RESPONSE if direction in (DIR_REQUEST, DIR_RESPONSE,
                                                                   DIR_TELL)
                       else rid in self.pending)
        log.info("[%s] %s on %s: route=%s id=%s dir=%s payload=%s error=%s", session.peer,
                 "response" if is_response else "request", label, env["route_key"], rid,
                 direction, None if env["payload"] is None else len(env["payload"]),
                 env["error"])
        if rid in self.tells:
            self.fail("%s replied to our tell %s (wire.md §5.5: no reply to timeout_ms 0 / "
                      "TELL)" % (session.peer, rid))
            return
        if is_response:
            fut = self.pending.pop(rid, None)
            if fut is None:
                log.warning("orphan response %s dropped", rid)
            elif not fut.done():
                fut.set_result((label, env))
            return
        self.serve_request(session, label, env)

    def serve_request(self, session, label, env):
        if env["timeout_ms"] == 0 or env["direction"] == DIR_TELL:
            out("TOLD %s size=%d lane=%s peer=%s dir=%s timeout_ms=%d" %
                (env["route_key"], len(env["payload"] or b""), label, session.peer,
                 env["direction"], env["timeout_ms"]))
            self.count_one()
            return
        if env["route_key"] == self.args.route:
            reply = encode_envelope(env["route_key"], env["request_id"],
                                    payload=env["payload"] or b"", direction=DIR_RESPONSE)
        else:
            reply = encode_envelope(env["route_key"], env["request_id"],
                                    error=(ERR_UNKNOWN_ROUTE, "unknown route " + env["route_key"]),
                                    direction=DIR_RESPONSE)
        # Responses always travel on RPC_RELIABLE (wire.md §5.5).
        session.send("RPC_RELIABLE", reply)
        out("SERVED %s size=%d lane=%s peer=%s dir=%s" %
            (env["route_key"], len(env["payload"] or b""), label, session.peer,
             env["direction"]))
        self.count_one()

    def count_one(self):
        self.served += 1
        if self.args.mode == "serve" and self.args.count and self.served >= self.args.count:
            asyncio.get_running_loop().call_later(1.0, self.done.set)

    async def call(self, session, lane, size, attempt_timeout):
        payload = bytes((i * 7 + size) & 0xFF for i in range(size))
        rid = str(uuid.uuid4())
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        env = encode_envelope(self.args.route, rid, payload=payload, direction=DIR_REQUEST,
                              timeout_ms=int(attempt_timeout * 1000))
        t0 = time.monotonic()
        session.send(lane, env)
        try:
            rlabel, reply = await asyncio.wait_for(fut, attempt_timeout)
        except asyncio.TimeoutError:
            self.pending.pop(rid, None)
            raise RuntimeError("no reply to %d-byte request on %s within %.0f s" %
                               (size, lane, attempt_timeout))
        ms = (time.monotonic() - t0) * 1000
        if self.args.expect_error is not None:
            if reply["error"] is None or reply["error"][0] != self.args.expect_error:
                raise RuntimeError("expected error %d, got error=%r payload=%s" %
                                   (self.args.expect_error, reply["error"],
                                    None if reply["payload"] is None else len(reply["payload"])))
            if reply["payload"] is not None:
                raise RuntimeError("error reply also carries a payload (wire.md §5.5)")
            out("CALL error-ok code=%d message=%r lane=%s reply_lane=%s dir=%s ms=%.1f" %
                (reply["error"][0], reply["error"][1], lane, rlabel, reply["direction"], ms))
            return
        if reply["error"] is not None:
            raise RuntimeError("remote error %d: %s" % reply["error"])
        if reply["payload"] != payload:
            got = reply["payload"] or b""
            raise RuntimeError("reply payload differs (%d bytes, expected %d)" %
                               (len(got), size))
        if reply["route_key"] != self.args.route:
            raise RuntimeError("reply route_key %r" % reply["route_key"])
        out("CALL ok size=%d lane=%s reply_lane=%s dir=%s ms=%.1f" %
            (size, lane, rlabel, reply["direction"], ms))

    async def run_call(self):
        a = self.args
        target = a.target
        self.roles.setdefault(target, asyncio.Event())
        self.bridge_send("negotiate", target)
        await asyncio.wait_for(self.roles[target].wait(), 10)
        s = self.session(target)
        if self.failure:
            return
        lanes = sorted(set(["RPC_RELIABLE", a.lane]))
        for lane in lanes:
            await asyncio.wait_for(s.channel_open[lane].wait(), 15)
        if a.tell:
            rid = str(uuid.uuid4())
            self.tells.add(rid)
            s.send(a.lane, encode_envelope(a.route, rid, payload=b"tell", direction=DIR_TELL,
                                           timeout_ms=0))
            out("TELL sent lane=%s" % a.lane)
        for size in a.sizes:
            await self.call(s, a.lane, size, a.call_timeout)
        if a.tell:
            await asyncio.sleep(1.0)  # a reply to the tell would arrive by now
            if not self.failure:
                out("TELL no reply")
        self.done.set()

    async def main(self):
        await self.start_bridge()
        reader = asyncio.create_task(self.read_bridge())
        worker = None
        if self.args.mode == "call":
            async def guarded():
                try:
                    await self.run_call()
                except asyncio.TimeoutError:
                    self.fail("timed out waiting for role assignment or data channels")
                except Exception as e:
                    log.exception("call failed")
                    self.fail(str(e))

            worker = asyncio.create_task(guarded())
        try:
            await asyncio.wait_for(self.done.wait(), self.args.timeout)
        except asyncio.TimeoutError:
            if self.args.mode == "call" or self.args.count:
                self.fail("overall timeout (%s s)" % self.args.timeout)
        for s in self.sessions.values():
            await s.close()
        if worker:
            worker.cancel()
        self.bridge.stdin.close()
        try:
            await asyncio.wait_for(self.bridge.wait(), 5)
        except asyncio.TimeoutError:
            self.bridge.kill()
        reader.cancel()
        if self.failure:
            out("FAIL " + self.failure)
            return 1
        out("DONE remote_candidates=%d" % self.stats["remote_candidates"])
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bridge", required=True)
    p.add_argument("--ais", required=True)
    p.add_argument("--signaling", required=True)
    p.add_argument("--type", default="interop:aiortc:1.0.0")
    p.add_argument("--realm", type=int, default=1)
    p.add_argument("--answer-role", action="store_true")
    p.add_argument("--expect-role", choices=["offerer", "answerer"])
    p.add_argument("--candidates", choices=["sdp", "trickle", "both"], default="sdp",
                   help="how our candidates reach the peer (in the SDP, only trickled "
                        "with the SDP stripped, or both)")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--call-timeout", type=float, default=20)
    p.add_argument("-v", "--verbose", action="count", default=0)
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("call")
    c.add_argument("--target", required=True)
    c.add_argument("--route", default="echo.Echo.Echo")
    c.add_argument("--sizes", default="1",
                   type=lambda s: [int(x) for x in s.split(",") if x])
    c.add_argument("--lane", choices=["RPC_RELIABLE", "RPC_SIGNAL"], default="RPC_RELIABLE")
    c.add_argument("--expect-error", type=int,
                   help="expect every reply to be this error code (and no payload)")
    c.add_argument("--tell", action="store_true",
                   help="first send a tell (timeout_ms 0, direction TELL) and fail if "
                        "anything replies to it")
    s = sub.add_parser("serve")
    s.add_argument("--route", default="interop.Echo.Echo")
    s.add_argument("--count", type=int, default=0)
    args = p.parse_args()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else
        logging.WARNING,
        format="%(asctime)s.%(msecs)03d aiortc_peer[" + str(os.getpid()) +
               "] %(name)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S")
    if args.verbose < 2:
        for noisy in ("aioice", "aiortc"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.exit(asyncio.run(Peer(args).main()))


if __name__ == "__main__":
    main()
