#!/usr/bin/python3
"""Interop test: headless Chromium (/usr/bin/chromium) calls the C node over
WebRTC, through the real actrd (tests/interop/meson.build registers it).

Processes: actrd --dev; an `actr run` node with the echo workload and
[webrtc] host_addresses = ["127.0.0.1"]; rtc-bridge serving
chromium-page.html and the WebSocket /signal; chromium --headless=new on
http://127.0.0.1:PORT/?target=<node ActrId>&...  The page negotiates with
the node, runs the calls and reports "result ok|fail ..." over the
WebSocket, which the bridge prints as "RESULT ..." on stdout.

Cases: Chromium offerer (the bridge registers after the node, so it has the
larger serial, wire.md §4.6.9) and Chromium answerer (bridge with
--answer-role); each sends 1 B and 100 KiB (fragmented) on RPC_RELIABLE, the
offerer case also 1 B on RPC_SIGNAL.

Exit: 0 pass, 1 fail, 77 skip (no /usr/bin/chromium).
"""

import argparse
import os
import signal
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_common as ic  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
RESULT_TIMEOUT = 60


def run_case(env, tap, args, node, node_id, name, role, sizes, lane="RPC_RELIABLE"):
    seq = len(env.procs)
    bridge_argv = [args.bridge, "--ais", env.ais, "--signaling", env.signaling,
                   "--type", "interop:chromium:1.0.0", "--http-port", "0", "--page", args.page]
    if role == "answerer":
        bridge_argv.append("--answer-role")
    bridge = env.spawn("bridge-%d" % seq, bridge_argv, stdin=subprocess.PIPE)
    http = bridge.wait_line("HTTP ", 15)
    ready = bridge.wait_line("READY ", 15)
    if http is None or ready is None:
        bridge.stop()
        tap.result(name, False, "bridge did not get ready:\n" + ic.tail(bridge.log_text(), 30))
        return
    port = http.split()[1]
    query = urllib.parse.urlencode({"target": node_id, "sizes": ",".join(map(str, sizes)),
                                    "lane": lane, "expect": role})
    url = "http://127.0.0.1:%s/?%s" % (port, query)
    profile = os.path.join(env.dir, "chromium-profile-%d" % seq)
    node_mark = len(node.log_text())
    chromium = env.spawn("chromium-%d" % seq,
                         [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                          "--allow-loopback-in-peer-connection",
                          "--disable-features=WebRtcHideLocalIpsWithMdns",
                          "--no-first-run", "--disable-dev-shm-usage",
                          "--user-data-dir=" + profile, url], debug=False)
    result = bridge.wait_line("RESULT ", RESULT_TIMEOUT)
    # Chromium runs in its own session (process group): end it and its helpers.
    try:
        os.killpg(chromium.proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        chromium.proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(chromium.proc.pid, signal.SIGKILL)
    chromium.stop()
    bridge.proc.stdin.close()
    bridge.stop()
    ok = result is not None and result.startswith("RESULT ok")
    detail = "url: %s\n%s" % (url, result or "no RESULT line within %d s" % RESULT_TIMEOUT)
    if not ok:
        detail += ("\n--- bridge stderr (page log lines), last 50 ---\n%s"
                   "\n--- chromium stderr, last 20 ---\n%s"
                   "\n--- C node (G_MESSAGES_DEBUG=all), last 60 lines of this case ---\n%s" %
                   (ic.tail(bridge.log_text(), 50), ic.tail(chromium.log_text(), 20),
                    ic.tail(node.log_text()[node_mark:], 60)))
    tap.result(name, ok, detail)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bridge", required=True)
    ap.add_argument("--page", required=True)
    ap.add_argument("--peer")
    args = ap.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        ic.note("SKIP: %s is not installed" % CHROMIUM)
        return ic.SKIP
    env = ic.Env("actr-interop-chromium-")
    tap = ic.Tap()
    try:
        env.start_actrd()
        node, node_id = env.start_node("echo-node")
        run_case(env, tap, args, node, node_id,
                 "Chromium offerer -> C node, RPC_RELIABLE 1 B + 100 KiB", "offerer",
                 [1, 100 * 1024])
        run_case(env, tap, args, node, node_id, "Chromium offerer -> C node, RPC_SIGNAL 1 B",
                 "offerer", [1], lane="RPC_SIGNAL")
        run_case(env, tap, args, node, node_id,
                 "Chromium answerer -> C node, RPC_RELIABLE 1 B + 100 KiB", "answerer",
                 [1, 100 * 1024])
        alive = node.alive()
        tap.result("C node still running", alive, "" if alive else ic.tail(node.log_text(), 60))
    finally:
        env.close()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
