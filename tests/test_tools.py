#!/usr/bin/env python3
"""pssh-run and pssh-stress as a user runs them, against a fleet of real sshd
hosts this test starts (tools/pssh-fleet) and stops by pid.

    test_tools.py BUILD_DIR SOURCE_DIR [unittest args]
    PSSH_STRESS_CYCLES=N overrides the stress test's 10000 cycles.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD, SRC = sys.argv[1], sys.argv[2]
RUN = os.path.join(BUILD, "tools", "pssh-run")
STRESS = os.path.join(BUILD, "tools", "pssh-stress")
FLEET_TOOL = os.path.join(SRC, "tools", "pssh-fleet")
N = 12
F = {}


def setUpModule():
    F["tmp"] = tempfile.mkdtemp(prefix="pssh-tools-")
    out = subprocess.run([FLEET_TOOL, "start", str(N), F["tmp"] + "/fleet"], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    for line in out.splitlines():
        k, _, v = line.partition("=")
        F[k] = v


def tearDownModule():
    subprocess.run([FLEET_TOOL, "stop", F["tmp"] + "/fleet"], timeout=60)
    shutil.rmtree(F["tmp"], ignore_errors=True)


def host(i):
    return "127.0.0.%d" % i


def conn():
    return ["-p", F["FLEET_PORT"], "-i", F["FLEET_KEY"], "--known-hosts", F["FLEET_KNOWN_HOSTS"],
            "--no-agent", "-t", "10", "-r", "0"]


def run(*args, timeout=120, stdin=None):
    return subprocess.run([RUN, *conn(), *args], capture_output=True, timeout=timeout, input=stdin)


class Inline(unittest.TestCase):
    def test_lines_are_prefixed_whole_and_complete(self):
        r = run("-h", F["FLEET_HOSTS"], "--", "seq 1 2000; echo err >&2; printf tail")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        for i in range(1, N + 1):
            mine = [l.split(": ", 1)[1] for l in lines if l.startswith(host(i) + ": ")]
            self.assertEqual(mine, [str(k) for k in range(1, 2001)] + ["tail"], "host %d" % i)
        self.assertEqual(len(lines), N * 2001, "nothing else, nothing torn")
        errs = r.stderr.decode().splitlines()
        self.assertEqual(sorted(errs), sorted("%s: err" % host(i) for i in range(1, N + 1)))

    def test_exit_status_one_when_a_command_fails(self):
        r = run("-H", "%s,%s" % (host(1), host(2)), "--",
                'case "$SSH_CONNECTION" in *" 127.0.0.2 "*) exit 5;; esac')
        self.assertEqual(r.returncode, 1)

    def test_exit_status_two_with_a_faulty_host_and_its_error_in_the_summary(self):
        r = run("-h", F["FLEET_HOSTS"], "-H", "127.0.0.1:1,nowhere.invalid", "--progress", "--", "echo ok")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout.decode().count(": ok\n"), N, "healthy hosts complete")
        err = r.stderr.decode()
        self.assertIn("failed   127.0.0.1:1: connect", err)
        self.assertIn("[PSSH_E_REFUSED]", err)
        self.assertIn("[PSSH_E_UNKNOWN_HOST]", err)
        self.assertIn("%d hosts" % (N + 2), err)
        self.assertIn("slowest", err)

    def test_silent_host_times_out_within_its_timeout(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        try:
            hostport = "127.0.0.1:%d" % s.getsockname()[1]
            r = subprocess.run([RUN, *conn(), "-t", "1", "-H", hostport, "-H", host(3), "--", "echo fine"],
                               capture_output=True, timeout=30)
        finally:
            s.close()
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"127.0.0.3: fine\n", r.stdout)
        self.assertIn(b"[PSSH_E_TIMEOUT]", r.stderr)

    def test_usage_errors_exit_64_before_connecting(self):
        bad = tempfile.NamedTemporaryFile("w", dir=F["tmp"], delete=False, suffix=".hosts")
        bad.write("# fleet\n127.0.0.1\n\n  127.0.0.2  # second\nbad host name\n")
        bad.close()
        cases = [
            (["--bogus", "true"], "unknown option"),
            (["-p", "99999", "-H", "h", "true"], "bad port"),
            (["-H", "bad host", "true"], "malformed host"),
            (["-h", bad.name, "true"], bad.name + ":5:"),
            (["-H", "h", "-i", "/nonexistent/key", "true"], "/nonexistent/key"),
            (["true"], "no hosts"),
            (["-H", "h"], "no command"),
            (["-h", "/nonexistent/hosts", "true"], "/nonexistent/hosts"),
        ]
        for args, want in cases:
            r = subprocess.run([RUN, *args], capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 64, args)
            self.assertIn(want, r.stderr.decode(), args)

    def test_jump_host(self):
        # Through a fleet sshd as the proxy: every host's output arrives.
        jump = "127.0.0.1:%s" % F["FLEET_PORT"]
        r = run("-J", jump, "-H", "%s,%s" % (host(2), host(3)), "--", "echo via")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.decode().splitlines()), ["127.0.0.2: via", "127.0.0.3: via"])
        # A proxy nobody answers on: each host fails with a proxy error
        # that names the hop, and the run exits 2.
        r = run("-J", "127.0.0.1:1", "-H", host(2), "--", "echo via")
        self.assertEqual(r.returncode, 2, r.stderr)
        err = r.stderr.decode()
        self.assertIn("[PSSH_E_PROXY]", err)
        self.assertIn("@127.0.0.1:1", err)
        self.assertEqual(r.stdout, b"")
        r = subprocess.run([RUN, "-J", "a,,b", "-H", "h", "true"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 64)
        self.assertIn("malformed -J", r.stderr.decode())

    def test_host_file_with_comments_and_blanks(self):
        path = os.path.join(F["tmp"], "commented.hosts")
        with open(path, "w") as f:
            f.write("# a comment\n\n%s   # trailing comment\n\t%s\n" % (host(4), host(5)))
        r = run("-h", path, "--", "echo x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.decode().splitlines()), ["127.0.0.4: x", "127.0.0.5: x"])


class Group(unittest.TestCase):
    def test_identical_outputs_once_with_their_hosts(self):
        r = run("-h", F["FLEET_HOSTS"], "--group", "--",
                'case "$SSH_CONNECTION" in *" 127.0.0."[1-3]" "*) echo A;; *) echo B; echo b2;; esac')
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertEqual(out.count("----------------\n"), 4)
        self.assertIn("127.0.0.1, 127.0.0.2, 127.0.0.3 (3)\n----------------\nA\n", out)
        rest = ", ".join(host(i) for i in range(4, N + 1))
        self.assertIn("%s (%d)\n----------------\nB\nb2\n" % (rest, N - 3), out)


class Json(unittest.TestCase):
    def test_one_object_per_host_field_by_field(self):
        r = run("-H", "%s,%s" % (host(1), host(2)), "-H", "127.0.0.1:1", "--json", "--",
                r'printf "out\n\xff\xfe raw"; echo "e r r" >&2; exit 3')
        self.assertEqual(r.returncode, 2, r.stderr)
        objs = [json.loads(l) for l in r.stdout.decode("utf-8", "surrogatepass").splitlines()]
        self.assertEqual(sorted(o["index"] for o in objs), [0, 1, 2])
        by = {o["index"]: o for o in objs}
        for i in (0, 1):
            o = by[i]
            self.assertEqual(o["host"], host(i + 1))
            self.assertEqual(o["alias"], host(i + 1))
            self.assertEqual(o["exit_code"], 3)
            self.assertIsNone(o["exit_signal"])
            self.assertIsNone(o["error"])
            self.assertIsNone(o["error_message"])
            # Bytes that are not UTF-8 come back exactly (PEP 383).
            self.assertEqual(o["stdout"].encode("utf-8", "surrogateescape"), b"out\n\xff\xfe raw")
            self.assertEqual(o["stderr"], "e r r\n")
            t = o["timings_ms"]
            self.assertEqual(sorted(t), ["auth", "connect", "exec", "handshake", "run"])
            self.assertTrue(all(v >= 0 for v in t.values()), t)
        bad = by[2]
        self.assertEqual(bad["error"], "PSSH_E_REFUSED")
        self.assertIn("refused", bad["error_message"])
        self.assertIsNone(bad["exit_code"])
        self.assertEqual(bad["stdout"], "")

    def test_signal(self):
        r = run("-H", host(1), "--json", "--", "kill -TERM $$")
        o = json.loads(r.stdout)
        self.assertEqual((o["exit_code"], o["exit_signal"]), (None, "TERM"))
        self.assertEqual(r.returncode, 1)


class Files(unittest.TestCase):
    def test_outdir_and_errdir_are_byte_exact(self):
        out, err = os.path.join(F["tmp"], "out"), os.path.join(F["tmp"], "err")
        cmd = r'printf "a\r\nb\n\000c\xff"; printf "e1\ne2" >&2; seq 1 30000'
        r = run("-H", "%s,%s,%s" % (host(1), host(2), host(1)), "-o", out, "-e", err, "-q", "--", cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"", "quiet")
        want_out = b"a\r\nb\n\x00c\xff" + b"".join(b"%d\n" % k for k in range(1, 30001))
        for name in ("127.0.0.1", "127.0.0.2", "127.0.0.1.2"):
            with open(os.path.join(out, name), "rb") as f:
                self.assertEqual(f.read(), want_out, name)
            with open(os.path.join(err, name), "rb") as f:
                self.assertEqual(f.read(), b"e1\ne2", name)


class Stress(unittest.TestCase):
    def test_ten_thousand_cycles(self):
        cycles = int(os.environ.get("PSSH_STRESS_CYCLES", "10000"))
        r = subprocess.run([STRESS, *conn(), "-h", F["FLEET_HOSTS"], "--cycles", str(cycles),
                            "--concurrency", "50"], capture_output=True,
                           timeout=max(1800, cycles // 5))  # 5 cycles/s at the least
        out = r.stdout.decode()
        sys.stderr.write(out)
        self.assertEqual(r.returncode, 0, out + r.stderr.decode())
        self.assertIn("%d ok, 0 failed, 0 mismatched" % cycles, out)
        # "  open fds: 5 at start, 5 at end"
        fds = [l for l in out.splitlines() if "open fds" in l][0].split()
        self.assertEqual(fds[2], fds[5], "fd count at start and end")

    def test_usage(self):
        r = subprocess.run([STRESS, "--cycles", "0", "-H", "h"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 64)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
