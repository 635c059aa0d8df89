#!/usr/bin/python3
"""Interop test: aiortc (Debian python3-aiortc) against the C node over
WebRTC, through the real actrd (tests/interop/meson.build registers it).

Processes: actrd --dev; an `actr run` node with the echo workload (route
echo.Echo.Echo) and [webrtc] host_addresses = ["127.0.0.1"]; per case an
aiortc peer (aiortc_peer.py) behind rtc-bridge; `actr call` client nodes.

Cases (the offerer rule of wire.md §4.6.9: without webrtc_role=answer the
later registration, i.e. the larger serial, offers; webrtc_role=answer
forces the answerer side; each case asserts the role actrd assigned):
  py->C  aiortc offerer   (bridge registered after the node)
  py->C  aiortc offerer, request on RPC_SIGNAL (reply expected on RPC_RELIABLE)
  py->C  aiortc answerer  (bridge with --answer-role)
  py->C  offerer / answerer with candidates trickled only (stripped from the SDP)
  py->C  candidates both in the SDP and trickled; unknown route -> error 10006
  py->C  a tell (timeout_ms 0, direction TELL) must get no reply
  C->py  aiortc answerer  (`actr call` registers after the bridge and offers)
  C->py  aiortc offerer   (`actr call` with a port range = webrtc_role=answer)
  C->py  `actr tell`: aiortc receives a TELL
Payloads: 1 B and 100 KiB (two 65527-byte fragments, wire.md §5.4).

Usage: test_aiortc.py --bridge PATH --peer aiortc_peer.py [--page ...]
Env: ACTR_BUILD_ROOT; INTEROP_KEEP=1 keeps the temporary directory (logs);
INTEROP_STRICT=1 also fails a C->py `actr call` slower than 2 s.
Exit: 0 pass, 1 fail, 77 skip (aiortc not importable by /usr/bin/python3).
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_common as ic  # noqa: E402

SIZES = [1, 100 * 1024]
NODE_ROUTE = "echo.Echo.Echo"
PY_ROUTE = "interop.Echo.Echo"
SLOW_CALL_MS = 2000  # a whole `actr call` (register, connect, call) on loopback


def payload(size):
    return bytes((i * 13 + 5) & 0xFF for i in range(size))


class Suite:
    def __init__(self, args):
        self.args = args
        self.env = ic.Env("actr-interop-aiortc-")
        self.tap = ic.Tap()
        self.node = None
        self.node_id = None
        self.peer_seq = 0

    def peer_argv(self, extra_global, mode_args):
        return (["/usr/bin/python3", self.args.peer, "--bridge", self.args.bridge,
                 "--ais", self.env.ais, "--signaling", self.env.signaling, "-v"]
                + extra_global + mode_args)

    def node_log_mark(self):
        return len(self.node.log_text())

    def evidence(self, peer_log, node_mark, extra=""):
        node_part = self.node.log_text()[node_mark:]
        return ("--- aiortc peer + bridge (stderr, last 40 lines) ---\n%s\n"
                "--- C node (G_MESSAGES_DEBUG=all, last 60 lines of this case) ---\n%s%s" %
                (ic.tail(peer_log, 40), ic.tail(node_part, 60), extra))

    # ---- Python calls the C node -------------------------------------------------
    def py_calls_c(self, name, role, lane="RPC_RELIABLE", candidates="sdp", tell=False,
                   route=NODE_ROUTE, expect_error=None):
        self.peer_seq += 1
        extra = ["--type", "interop:aiortc:1.0.0", "--expect-role", role,
                 "--candidates", candidates, "--timeout", "60"]
        if role == "answerer":
            extra.append("--answer-role")
        argv = self.peer_argv(extra, ["call", "--target", self.node_id, "--route", route,
                                      "--sizes", ",".join(map(str, SIZES)), "--lane", lane]
                              + (["--tell"] if tell else [])
                              + (["--expect-error", str(expect_error)] if expect_error else []))
        mark = self.node_log_mark()
        p = self.env.spawn("peer-%d" % self.peer_seq, argv, debug=True)
        try:
            p.proc.wait(75)
        except subprocess.TimeoutExpired:
            p.proc.kill()
        code = p.stop()
        out = p.stdout_text()
        calls = [l for l in out.splitlines()
                 if l.startswith("CALL error-ok" if expect_error else "CALL ok")]
        role_line = next((l for l in out.splitlines() if l.startswith("ROLE ")), "")
        ok = (code == 0 and len(calls) == len(SIZES) and role_line.endswith(" " + role)
              and all(("lane=%s" % lane) in c and "reply_lane=RPC_RELIABLE" in c for c in calls)
              and (not tell or "TELL no reply" in out.splitlines()))
        detail = "peer stdout:\n" + out
        if not ok:
            detail += "\n" + self.evidence(p.log_text(), mark)
        self.tap.result(name, ok, detail)

    # ---- the C node (actr call) calls Python -----------------------------------------
    def c_calls_py(self, name, role, candidates="sdp"):
        self.peer_seq += 1
        extra = ["--type", "interop:aiortcsrv:1.0.0", "--expect-role", role, "--timeout", "90",
                 "--candidates", candidates]
        argv = self.peer_argv(extra, ["serve", "--route", PY_ROUTE, "--count", str(len(SIZES))])
        p = self.env.spawn("peer-%d" % self.peer_seq, argv, debug=True)
        self_line = p.wait_line("SELF ", 15)
        if self_line is None:
            p.stop()
            self.tap.result(name, False, "bridge did not get ready:\n" + ic.tail(p.log_text(), 30))
            return
        target = self_line.split()[1]
        body = ""
        if role == "offerer":
            # A UDP port range makes the client connect with webrtc_role=answer
            # (wire.md §4.1), so actrd makes the aiortc side the offerer.
            body = "port_range_start = 42000\nport_range_end = 42999\n"
        cfg = self.env.client_config("client-%d" % self.peer_seq, body)
        ok = True
        detail = []
        for size in SIZES:
            data_path = os.path.join(self.env.dir, "payload-%d.bin" % size)
            with open(data_path, "wb") as f:
                f.write(payload(size))
            t0 = time.monotonic()
            code, out, err = self.env.actr(["call", "--config", cfg, target, PY_ROUTE,
                                            "--data-file", data_path, "--timeout", "30000"],
                                           timeout=45)
            ms = (time.monotonic() - t0) * 1000
            good = code == 0 and out == payload(size)
            detail.append("actr call %d B: exit %d, %d reply bytes%s, %.0f ms" %
                          (size, code, len(out), " (equal)" if good else "", ms))
            if good and ms > SLOW_CALL_MS:
                # Known C-side issue (2026-11-25): with the C node offering
                # to aiortc, the first SCTP INIT travels in the same datagram
                # as the DTLS server's final flight, aiortc drops it, and the
                # association waits for the 3 s INIT retransmission.
                # INTEROP_STRICT=1 turns this warning into a failure.
                detail.append("WARNING: the whole `actr call` took %.0f ms (> %d ms)" %
                              (ms, SLOW_CALL_MS))
                if os.environ.get("INTEROP_STRICT"):
                    ok = False
            if not good:
                ok = False
                detail.append("--- actr call stderr (last 60 lines) ---\n" + ic.tail(err, 60))
        try:
            p.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        code = p.stop()
        out = p.stdout_text()
        served = [l for l in out.splitlines() if l.startswith("SERVED ")]
        roles = [l for l in out.splitlines() if l.startswith("ROLE ")]
        if len(served) != len(SIZES) or len(roles) < len(SIZES) or \
                not all(r.endswith(" " + role) for r in roles):
            ok = False
        if code != 0:
            ok = False
        detail.append("peer stdout:\n" + out)
        if not ok:
            detail.append("--- aiortc peer + bridge (stderr, last 40 lines) ---\n" +
                          ic.tail(p.log_text(), 40))
        self.tap.result(name, ok, "\n".join(detail))

    def c_tells_py(self, name):
        self.peer_seq += 1
        extra = ["--type", "interop:aiortcsrv:1.0.0", "--timeout", "60"]
        argv = self.peer_argv(extra, ["serve", "--route", PY_ROUTE, "--count", "1"])
        p = self.env.spawn("peer-%d" % self.peer_seq, argv, debug=True)
        self_line = p.wait_line("SELF ", 15)
        if self_line is None:
            p.stop()
            self.tap.result(name, False, "bridge did not get ready:\n" + ic.tail(p.log_text(), 30))
            return
        cfg = self.env.client_config("client-%d" % self.peer_seq)
        code, out, err = self.env.actr(["tell", "--config", cfg, self_line.split()[1], PY_ROUTE,
                                        "--data", "told"], timeout=45)
        told = p.wait_line("TOLD ", 10)
        try:
            p.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        pcode = p.stop()
        out_text = p.stdout_text()
        ok = (code == 0 and told is not None and "size=4" in told and pcode == 0
              and not any(l.startswith("SERVED") for l in out_text.splitlines()))
        detail = "actr tell: exit %d\npeer stdout:\n%s" % (code, out_text)
        if not ok:
            detail += ("\n--- actr tell stderr ---\n" + ic.tail(err, 60) +
                       "\n--- aiortc peer + bridge ---\n" + ic.tail(p.log_text(), 40))
        self.tap.result(name, ok, detail)

    def run(self):
        self.env.start_actrd()
        self.node, self.node_id = self.env.start_node("echo-node")
        self.py_calls_c("py->C aiortc offerer, RPC_RELIABLE, 1 B + 100 KiB, plus a tell that "
                        "must get no reply", "offerer", tell=True)
        self.py_calls_c("py->C aiortc offerer, RPC_SIGNAL lane, 1 B + 100 KiB", "offerer",
                        lane="RPC_SIGNAL")
        self.py_calls_c("py->C aiortc answerer, 1 B + 100 KiB", "answerer")
        self.py_calls_c("py->C aiortc offerer, trickled candidates only", "offerer",
                        candidates="trickle")
        self.py_calls_c("py->C aiortc answerer, trickled candidates only", "answerer",
                        candidates="trickle")
        self.py_calls_c("py->C aiortc offerer, candidates in the SDP and trickled (duplicates)",
                        "offerer", candidates="both")
        self.py_calls_c("py->C unknown route: ErrorResponse 10006 UnknownRoute, no payload",
                        "offerer", route="echo.Echo.NoSuchMethod", expect_error=10006)
        self.c_calls_py("C->py actr call, aiortc answerer, 1 B + 100 KiB", "answerer")
        self.c_calls_py("C->py actr call, aiortc offerer, 1 B + 100 KiB", "offerer")
        self.c_calls_py("C->py actr call, aiortc answerer, trickled candidates only", "answerer",
                        candidates="trickle")
        self.c_calls_py("C->py actr call, aiortc offerer, trickled candidates only", "offerer",
                        candidates="trickle")
        self.c_tells_py("C->py actr tell: aiortc gets a TELL (direction 3, timeout_ms 0)")
        alive = self.node.alive()
        self.tap.result("C node still running after all cases", alive,
                        "" if alive else ic.tail(self.node.log_text(), 60))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bridge", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--page")
    args = ap.parse_args()
    try:
        import aiortc  # noqa: F401
    except ImportError as e:
        ic.note("SKIP: aiortc is not importable by %s: %s" % (sys.executable, e))
        return ic.SKIP
    suite = Suite(args)
    try:
        suite.run()
    finally:
        suite.env.close()
    return suite.tap.finish()


if __name__ == "__main__":
    sys.exit(main())
