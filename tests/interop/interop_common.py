"""Shared helpers of the interop test drivers (test_aiortc.py,
test_chromium.py): real processes on 127.0.0.1 only.

  actrd      $ACTR_BUILD_ROOT/src/actrd/actrd serve --dev (limits raised as
             tests/e2e/node-harness.c does), ready line
             "actrd listening on http://127.0.0.1:PORT"
  nodes      $ACTR_BUILD_ROOT/src/cli/actr run --config F --workload
             $ACTR_BUILD_ROOT/examples/libecho.so, ready line "actr ready ID"
  actr call  short-lived client nodes (spec/cli.md)

Each process's stderr goes to a log file in the test's temporary directory
(G_MESSAGES_DEBUG=all for the C processes), and the logs are printed when a
check fails, so the meson test log holds the evidence.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77


def note(msg):
    sys.stdout.write("# " + msg.replace("\n", "\n# ") + "\n")
    sys.stdout.flush()


def build_path(*parts):
    root = os.environ.get("ACTR_BUILD_ROOT")
    if not root:
        note("ACTR_BUILD_ROOT is not set (run through meson test)")
        sys.exit(1)
    p = os.path.join(root, *parts)
    if not os.path.exists(p):
        note("%s does not exist (build first)" % p)
        sys.exit(1)
    return p


def child_env(debug=True):
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    if debug:
        env["G_MESSAGES_DEBUG"] = "all"
    else:
        env.pop("G_MESSAGES_DEBUG", None)
    # The test env turns criticals fatal for our own binaries; keep that.
    return env


class Proc:
    """A child process whose stdout lines are collected by a thread and
    whose stderr goes to LOGFILE."""

    def __init__(self, name, argv, logdir, stdin=subprocess.DEVNULL, debug=True, env=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, name + ".log")
        self.log = open(self.log_path, "wb")
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env or child_env(debug),
                                     start_new_session=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_line(self, prefix, timeout):
        """The first stdout line starting with PREFIX (waits), or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    return None
                self.cond.wait(left)

    def stdout_text(self):
        with self.cond:
            return "\n".join(self.lines)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM, wait; SIGKILL after TIMEOUT.  Returns the exit status."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                note("%s did not exit %d s after SIGTERM; killing it" % (self.name, timeout))
                self.proc.kill()
                self.proc.wait()
        self.thread.join(5)
        self.log.close()
        return self.proc.returncode

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


def tail(text, n):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


class Env:
    """A temporary directory with actrd and the processes of one test file."""

    def __init__(self, prefix):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.procs = []
        self.actrd = None
        self.url = None
        self.keep = os.environ.get("INTEROP_KEEP") is not None

    def spawn(self, name, argv, **kw):
        p = Proc(name, argv, self.dir, **kw)
        self.procs.append(p)
        return p

    def start_actrd(self):
        cfg = os.path.join(self.dir, "actrd.toml")
        with open(cfg, "w") as f:
            f.write("[ais]\nrate_per_sec = 100000\nburst = 100000\n"
                    "[signaling]\nconn_max_per_ip = 100000\nconn_rate_per_sec = 100000\n"
                    "conn_burst = 100000\nmsg_rate_per_sec = 100000\nmsg_burst = 100000\n")
        self.actrd = self.spawn("actrd", [build_path("src", "actrd", "actrd"), "serve",
                                          "--listen", "127.0.0.1:0", "--data-dir",
                                          os.path.join(self.dir, "actrd-data"), "--dev",
                                          "--config", cfg])
        line = self.actrd.wait_line("actrd listening on http://", 10)
        if line is None:
            note("actrd did not start:\n" + self.actrd.log_text())
            sys.exit(1)
        self.url = line.split()[-1]
        hostport = self.url[len("http://"):]
        self.ais = self.url + "/ais"
        self.signaling = "ws://%s/signaling/ws" % hostport
        note("actrd at " + self.url)

    def write_config(self, name, body=""):
        path = os.path.join(self.dir, name + ".toml")
        with open(path, "w") as f:
            f.write('edition = 1\n[signaling]\nurl = "%s"\n[ais_endpoint]\nurl = "%s"\n'
                    '[deployment]\nrealm_id = 1\n[hyper]\ndata_dir = "%s"\n'
                    '[hyper.trust]\nkind = "dev_only"\n%s' %
                    (self.signaling, self.ais, os.path.join(self.dir, name + "-data"), body))
        return path

    def start_node(self, name, workload="echo", body=""):
        """`actr run` with WebRTC on loopback; returns (Proc, ActrId)."""
        cfg = self.write_config(
            name, '[storage]\nmailbox_path = "%s"\n[webrtc]\nenabled = true\n'
            'host_addresses = ["127.0.0.1"]\n%s' % (os.path.join(self.dir, name + ".db"), body))
        argv = [build_path("src", "cli", "actr"), "run", "--config", cfg]
        if workload:
            argv += ["--workload", build_path("examples", "lib%s.so" % workload)]
        p = self.spawn(name, argv)
        line = p.wait_line("actr ready ", 15)
        if line is None:
            note("node %s did not get ready:\n%s" % (name, tail(p.log_text(), 40)))
            sys.exit(1)
        node_id = line.split()[-1]
        note("node %s ready as %s" % (name, node_id))
        return p, node_id

    def client_config(self, name, body=""):
        return self.write_config(name, '[webrtc]\nenabled = true\nhost_addresses = ["127.0.0.1"]\n'
                                 + body)

    def actr(self, args, timeout=40, name="actr-cli"):
        """Runs `actr ARGS` to completion: (exit code, stdout bytes, stderr text)."""
        log_path = os.path.join(self.dir, "%s-%d.log" % (name, len(os.listdir(self.dir))))
        with open(log_path, "wb") as log:
            try:
                r = subprocess.run([build_path("src", "cli", "actr")] + args,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=log, env=child_env(True), timeout=timeout)
                code, out = r.returncode, r.stdout
            except subprocess.TimeoutExpired as e:
                code, out = -1, e.stdout or b""
        with open(log_path, "rb") as f:
            err = f.read().decode(errors="replace")
        return code, out, err

    def close(self):
        for p in reversed(self.procs):
            p.stop()
        if self.keep:
            note("INTEROP_KEEP: logs kept in " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Tap:
    """Minimal TAP-style reporting on stdout; the exit code carries the
    verdict (meson's exitcode protocol: 0 pass, 77 skip, else fail)."""

    def __init__(self):
        self.n = 0
        self.failed = []

    def result(self, name, ok, detail=""):
        self.n += 1
        sys.stdout.write("%s %d - %s\n" % ("ok" if ok else "not ok", self.n, name))
        if detail:
            note(detail)
        sys.stdout.flush()
        if not ok:
            self.failed.append(name)

    def finish(self):
        sys.stdout.write("1..%d\n" % self.n)
        if self.failed:
            note("FAILED: " + ", ".join(self.failed))
            return 1
        return 0
