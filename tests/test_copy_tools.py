#!/usr/bin/env python3
"""pssh-copy and pssh-slurp as a user runs them, against a fleet of real sshd
hosts this test starts (tools/pssh-fleet) and stops by pid.

    test_copy_tools.py BUILD_DIR SOURCE_DIR [unittest args]
"""
import hashlib
import json
import os
import pty
import select
import socket
import threading
import time
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

BUILD, SRC = sys.argv[1], sys.argv[2]
COPY = os.path.join(BUILD, "tools", "pssh-copy")
SLURP = os.path.join(BUILD, "tools", "pssh-slurp")
FLEET_TOOL = os.path.join(SRC, "tools", "pssh-fleet")
# Upper time bounds scale for slow runs (ASan, valgrind): as test_tools.py.
SCALE = float(os.environ.get("PSSH_TEST_TIME_SCALE", "1"))
N = 6
F = {}


def setUpModule():
    F["tmp"] = tempfile.mkdtemp(prefix="pssh-copy-tools-")
    out = subprocess.run([FLEET_TOOL, "start", str(N), F["tmp"] + "/fleet", "--watch", str(os.getpid())], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    for line in out.splitlines():
        k, _, v = line.partition("=")
        F[k] = v


def tearDownModule():
    subprocess.run([FLEET_TOOL, "stop", F["tmp"] + "/fleet"], timeout=60)
    shutil.rmtree(F["tmp"], ignore_errors=True)


def conn():
    return ["-P", F["FLEET_PORT"], "-i", F["FLEET_KEY"], "--known-hosts", F["FLEET_KNOWN_HOSTS"],
            "--no-agent", "-t", "10", "--retries", "0"]


def hosts():
    return ["127.0.0.%d" % i for i in range(1, N + 1)]


def run(tool, *args, timeout=120):
    return subprocess.run([tool, *conn(), *args], capture_output=True, timeout=timeout)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def scratch(name):
    d = os.path.join(F["tmp"], name)
    os.makedirs(d)
    return d


class Copy(unittest.TestCase):
    def test_file_to_every_host_with_summary(self):
        d = scratch("copy1")
        src = os.path.join(d, "data.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(3 << 20))
        r = run(COPY, "-h", F["FLEET_HOSTS"], "--progress", src, d + "/remote/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sha(d + "/remote/data.bin"), sha(src))
        err = r.stderr.decode()
        self.assertIn("%d hosts, 1 transfer in" % N, err)
        self.assertIn("%d ok, 0 failed" % N, err)
        self.assertIn("%.1f MiB moved" % (3 * N), err)
        self.assertEqual(os.listdir(d + "/remote"), ["data.bin"], "no temporary left")

    def test_tree_recursive_preserve_over_scp(self):
        d = scratch("copy2")
        os.makedirs(d + "/site/css")
        with open(d + "/site/index.html", "w") as f:
            f.write("<h1>hi</h1>\n")
        with open(d + "/site/css/main.css", "w") as f:
            f.write("h1 {}\n")
        os.chmod(d + "/site/index.html", 0o600)
        r = run(COPY, "-H", ",".join(hosts()[:3]), "--scp", "-r", "-p", d + "/site", d + "/remote/")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = os.stat(d + "/remote/site/index.html")
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "-p keeps the mode")
        self.assertEqual(sha(d + "/remote/site/css/main.css"), sha(d + "/site/css/main.css"))

    def test_directory_without_r_fails_with_its_class(self):
        d = scratch("copy3")
        os.makedirs(d + "/dir")
        r = run(COPY, "-H", hosts()[0], d + "/dir", d + "/remote")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is a directory", r.stderr.decode())
        self.assertIn("[PSSH_E_SFTP]", r.stderr.decode())

    def test_several_sources_go_into_the_directory(self):
        d = scratch("copy4")
        for n in ("a", "b"):
            with open(os.path.join(d, n), "w") as f:
                f.write(n)
        r = run(COPY, "-H", hosts()[0], d + "/a", d + "/b", d + "/remote")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(d + "/remote")), ["a", "b"])

    def test_faulty_host_exit_two_others_complete_json(self):
        d = scratch("copy5")
        src = os.path.join(d, "x")
        with open(src, "w") as f:
            f.write("x\n")
        r = run(COPY, "-H", hosts()[0] + ",127.0.0.1:1", "--json", src, d + "/remote/")
        self.assertEqual(r.returncode, 2)
        rows = [json.loads(l) for l in r.stdout.decode().splitlines()]
        self.assertEqual(len(rows), 2)
        by = {row["host"]: row for row in rows}
        self.assertIsNone(by[hosts()[0]]["error"])
        self.assertEqual(by[hosts()[0]]["bytes"], 2)
        self.assertEqual(by["127.0.0.1:1"]["error"], "PSSH_E_REFUSED")
        self.assertIn("[PSSH_E_REFUSED]", r.stderr.decode())
        self.assertTrue(os.path.exists(d + "/remote/x"))

    def test_usage(self):
        self.assertEqual(subprocess.run([COPY, "-H", "h", "only-one"], capture_output=True).returncode, 64)
        self.assertEqual(subprocess.run([COPY, "x", "y"], capture_output=True).returncode, 64)
        h = subprocess.run([COPY, "--help"], capture_output=True, text=True)
        self.assertEqual(h.returncode, 0)
        for opt in ("--recursive", "--preserve", "--scp", "--copy-links", "--json", "--command-timeout"):
            self.assertIn(opt, h.stdout)
        # -p and -r are scp's here: the help never offers them for the port or retries.
        for opt in ("-P, --port", "  -r, --recursive", "  -p, --preserve", "      --retries"):
            self.assertIn(opt, h.stdout)
        for opt in ("-p, --port", "-r, --retries"):
            self.assertNotIn(opt, h.stdout)


class StallProxy:
    """A TCP proxy to one fleet host that passes the server's first `after`
    bytes, then stops reading from the server (the host stalls, the
    connection stays up). Stopped by close(); its threads end with it."""

    def __init__(self, port, after):
        self.up = ("127.0.0.1", port)
        self.after = after
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.stop = threading.Event()
        self.socks = [self.ls]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stop.is_set():
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            u = socket.create_connection(self.up, timeout=10)
            self.socks += [c, u]
            threading.Thread(target=self.pump, args=(c, u, None), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c, self.after), daemon=True).start()

    def pump(self, src, dst, limit):
        moved = 0
        while not self.stop.is_set() and (limit is None or moved < limit):
            try:
                b = src.recv(min(65536, limit - moved) if limit is not None else 65536)
                if not b:
                    break
                dst.sendall(b)
            except OSError:
                break
            moved += len(b)
        self.stop.wait(120)  # stalled: hold the connection open

    def close(self):
        self.stop.set()
        for s in self.socks:
            s.close()


class Timeouts(unittest.TestCase):
    def test_command_timeout_bounds_each_hosts_transfer(self):
        d = scratch("timeout")
        src = os.path.join(d, "big.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(20 << 20))
        proxy = StallProxy(int(F["FLEET_PORT"]), 2 << 20)
        bound = 1.5 * max(SCALE, 1)  # the healthy host's 20 MiB must fit in it
        try:
            t0 = time.monotonic()
            r = run(SLURP, "-H", "%s,127.0.0.1:%d" % (hosts()[0], proxy.port),
                    "--strict-host-key-checking", "no", "-T", "%g" % bound, src, d + "/out",
                    timeout=60 * max(SCALE, 1))
            took = time.monotonic() - t0
        finally:
            proxy.close()
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 2, err)
        self.assertIn("[PSSH_E_TIMEOUT]", err)
        self.assertIn("127.0.0.1:%d" % proxy.port, err)
        self.assertGreaterEqual(took, bound)
        self.assertEqual(sha(os.path.join(d, "out", hosts()[0], "big.bin")), sha(src), "the other host finished")
        stalled = os.path.join(d, "out", "127.0.0.1:%d" % proxy.port)
        self.assertEqual(os.listdir(stalled) if os.path.isdir(stalled) else [], [],
                         "nothing under the stalled host's folder, not even a temporary")


class Tty(unittest.TestCase):
    def test_progress_line_on_a_tty(self):
        d = scratch("tty")
        src = os.path.join(d, "data.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(8 << 20))
        master, slave = pty.openpty()
        p = subprocess.Popen([COPY, *conn(), "-h", F["FLEET_HOSTS"], src, d + "/remote/"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        got = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    b = os.read(master, 65536)
                except OSError:  # the tty closed: the tool is gone
                    break
                if not b:
                    break
                got += b
            elif p.poll() is not None:
                break
        os.close(master)
        self.assertEqual(p.wait(timeout=60), 0, got)
        text = got.decode(errors="replace")
        # The live line: redrawn in place, with bytes and rate; then the summary.
        self.assertRegex(text, r"\r\x1b\[K\[\d+/%d done, 0 failed\] [\d.]+ MiB, [\d.]+ MiB/s" % N)
        self.assertIn("[%d/%d done, 0 failed] %.1f MiB" % (N, N, 8 * N), text)
        self.assertIn("%d ok, 0 failed; %.1f MiB moved" % (N, 8 * N), text)


class Slurp(unittest.TestCase):
    def setUp(self):
        self.d = scratch("slurp-" + self._testMethodName)
        self.src = os.path.join(self.d, "log.txt")
        with open(self.src, "wb") as f:
            f.write(os.urandom(100000))

    def test_host_folders(self):
        r = run(SLURP, "-h", F["FLEET_HOSTS"], self.src, self.d + "/out")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(self.d + "/out")), sorted(hosts()))
        for h in hosts():
            self.assertEqual(sha(os.path.join(self.d, "out", h, "log.txt")), sha(self.src))

    def test_suffix_layout_over_scp(self):
        r = run(SLURP, "-h", F["FLEET_HOSTS"], "--scp", "--suffix", self.src, self.d + "/out")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(self.d + "/out")), sorted("log.txt_" + h for h in hosts()))
        for h in hosts():
            self.assertEqual(sha(os.path.join(self.d, "out", "log.txt_" + h)), sha(self.src))

    def test_missing_remote_file(self):
        r = run(SLURP, "-H", hosts()[0], self.d + "/nope", self.d + "/out")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such file or directory [PSSH_E_SFTP]", r.stderr.decode())
        self.assertEqual(os.listdir(os.path.join(self.d, "out", hosts()[0])), [], "nothing, not even a temporary")

    def test_tree(self):
        os.makedirs(self.d + "/etc/sub")
        with open(self.d + "/etc/sub/conf", "w") as f:
            f.write("k=v\n")
        r = run(SLURP, "-H", ",".join(hosts()[:2]), "-r", self.d + "/etc", self.d + "/out")
        self.assertEqual(r.returncode, 0, r.stderr)
        for h in hosts()[:2]:
            with open(os.path.join(self.d, "out", h, "etc", "sub", "conf")) as f:
                self.assertEqual(f.read(), "k=v\n")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
