#!/usr/bin/env python3
"""pssh-run and pssh-stress as a user runs them, against a fleet of real sshd
hosts this test starts (tools/pssh-fleet) and stops by pid.

    test_tools.py BUILD_DIR SOURCE_DIR [unittest args]
    PSSH_STRESS_CYCLES=N overrides the stress test's 10000 cycles.
    PSSH_TEST_TIME_SCALE=K multiplies the time bounds (default 1).

The shared fleet has BIG hosts (the descriptor and signal tests need
200); FLEET_HOSTS is rewritten to list the first N only, which the older
tests count on. ThousandHosts starts and stops a fleet of its own.
"""
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD, SRC = sys.argv[1], sys.argv[2]
RUN = os.path.join(BUILD, "tools", "pssh-run")
STRESS = os.path.join(BUILD, "tools", "pssh-stress")
FLEET_TOOL = os.path.join(SRC, "tools", "pssh-fleet")
SCALE = float(os.environ.get("PSSH_TEST_TIME_SCALE", "1"))
N = 12
BIG = 200
F = {}


def start_fleet(n, d):
    out = subprocess.run([FLEET_TOOL, "start", str(n), d, "--watch", str(os.getpid())], check=True, capture_output=True, text=True,
                         timeout=300).stdout
    env = {}
    for line in out.splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return env


def setUpModule():
    F["tmp"] = tempfile.mkdtemp(prefix="pssh-tools-")
    if sys.argv[3:] and all(a.startswith("ThousandHosts") for a in sys.argv[3:]):
        return  # it has a fleet of its own
    F.update(start_fleet(BIG, F["tmp"] + "/fleet"))
    F["ALL_HOSTS"] = F["FLEET_HOSTS"]
    F["FLEET_HOSTS"] = os.path.join(F["tmp"], "first.hosts")
    with open(F["FLEET_HOSTS"], "w") as f:
        f.write("".join(host(i) + "\n" for i in range(1, N + 1)))


def tearDownModule():
    if "FLEET_PORT" in F:
        subprocess.run([FLEET_TOOL, "stop", F["tmp"] + "/fleet"], timeout=60)
    shutil.rmtree(F["tmp"], ignore_errors=True)


def host(i):
    i -= 1
    return "127.0.%d.%d" % (i // 254, i % 254 + 1)


def hosts_file(name, first, last):
    path = os.path.join(F["tmp"], name)
    with open(path, "w") as f:
        f.write("".join(host(i) + "\n" for i in range(first, last + 1)))
    return path


def conn(key=True):
    return ["-p", F["FLEET_PORT"], *(["-i", F["FLEET_KEY"]] if key else []), "--known-hosts",
            F["FLEET_KNOWN_HOSTS"], "--no-agent", "-t", "10", "-r", "0"]


def run(*args, timeout=120, stdin=None, **kw):
    return subprocess.run([RUN, *conn(), *args], capture_output=True, timeout=timeout, input=stdin, **kw)


class SilentListener:
    """A TCP listener that accepts and never speaks: a host stuck in its
    SSH handshake until the client's timeout."""
    def __enter__(self):
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(64)
        self.host = "127.0.0.1:%d" % self.s.getsockname()[1]
        return self

    def __exit__(self, *exc):
        self.s.close()


def read_lines_until(proc, want, deadline_s):
    """Lines of proc.stdout (a pipe) until `want` lines came or the deadline
    passed; proc keeps running."""
    got, buf = [], b""
    end = time.monotonic() + deadline_s
    fd = proc.stdout.fileno()
    while len(got) < want and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0, end - time.monotonic()))
        if not r:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        got += lines
    return got


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


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


class Streaming(unittest.TestCase):
    """Issue 16, point 1: what finished hosts print comes out while another
    host is still connecting, in every mode, into a pipe."""

    def check_streams(self, mode, want):
        with SilentListener() as silent:
            p = subprocess.Popen([RUN, *conn(), "-t", str(60 * SCALE), "-H", silent.host, *mode,
                                  "-H", "%s,%s,%s" % (host(1), host(2), host(3)), "--", "echo hi"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                lines = read_lines_until(p, want, 30 * SCALE)
                running = p.poll() is None
            finally:
                stop(p)
        self.assertEqual(len(lines), want, "output of the finished hosts, while one still connects")
        self.assertTrue(running, "the silent host was still connecting")
        return lines

    def test_inline_lines_while_a_host_connects(self):
        lines = self.check_streams([], 3)
        self.assertEqual(sorted(lines), sorted(b"%s: hi" % host(i).encode() for i in (1, 2, 3)))

    def test_json_objects_while_a_host_connects(self):
        lines = self.check_streams(["--json"], 3)
        self.assertEqual(sorted(json.loads(l)["index"] for l in lines), [1, 2, 3])


class Signals(unittest.TestCase):
    """Issue 16, point 2: SIGINT, SIGTERM, SIGHUP keep what was printed,
    print the summary, close the connections, and exit 128 + the signal."""

    def interrupt(self, sig, mode=(), hosts=49, cmd="echo line", want_lines=None, out=None):
        want_lines = hosts if want_lines is None else want_lines
        out = out or os.path.join(F["tmp"], "sig.out")
        with SilentListener() as silent, open(out, "wb") as f:
            p = subprocess.Popen([RUN, *conn(), "-t", str(60 * SCALE), "-h", hosts_file("sig.hosts", 1, hosts),
                                  "-H", silent.host, *mode, "--", cmd], stdout=f, stderr=subprocess.PIPE)
            try:
                end = time.monotonic() + 60 * SCALE
                while time.monotonic() < end and p.poll() is None:
                    with open(out, "rb") as g:
                        if g.read().count(b"\n") >= want_lines:
                            break
                    time.sleep(0.1)
                p.send_signal(sig)
                _, err = p.communicate(timeout=20 * SCALE)
            finally:
                stop(p)
        with open(out, "rb") as g:
            return p.returncode, g.read(), err.decode(), silent.host

    def test_sigint_keeps_every_line_and_summarizes(self):
        rc, out, err, silent = self.interrupt(signal.SIGINT)
        self.assertEqual(rc, 130, err)
        self.assertEqual(sorted(out.splitlines()), sorted(b"%s: line" % host(i).encode() for i in range(1, 50)))
        self.assertIn("interrupted by SIGINT", err)
        self.assertIn("49 ok", err)
        self.assertIn("1 not finished", err)
        self.assertIn("unfinished %s" % silent, err)

    def test_sigterm_and_sighup_with_commands_running(self):
        # The commands wait for stdin, which ends only when their channel
        # closes: pssh-run must not wait for them (communicate's timeout),
        # and they do not outlive the test.
        for sig, code in ((signal.SIGTERM, 143), (signal.SIGHUP, 129)):
            rc, out, err, _ = self.interrupt(sig, hosts=3, cmd="echo start; read x; echo never")
            self.assertEqual(rc, code, err)
            self.assertEqual(out.count(b": start\n"), 3)
            self.assertNotIn(b"never", out)
            self.assertIn("4 not finished", err)

    def test_json_objects_of_finished_and_interrupted_hosts(self):
        rc, out, err, silent = self.interrupt(signal.SIGINT, mode=["--json"], hosts=3)
        self.assertEqual(rc, 130, err)
        objs = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(len(objs), 4)
        late = [o for o in objs if o["error"] == "interrupted"]
        self.assertEqual([o["host"] for o in late], [silent])
        self.assertEqual(sorted(o["stdout"] for o in objs if o is not late[0]), ["line\n"] * 3)


class Descriptors(unittest.TestCase):
    """Issue 16, point 3: the host count is not capped by the descriptor
    limit, whatever -f is."""

    def test_two_hundred_hosts_under_64_descriptors(self):
        outdir, errdir = os.path.join(F["tmp"], "fd.out"), os.path.join(F["tmp"], "fd.err")
        r = subprocess.run([RUN, *conn(), "-t", str(60 * SCALE), "-f", "10", "-h", F["ALL_HOSTS"],
                            "-o", outdir, "-e", errdir, "--progress", "--",
                            'echo "o $SSH_CONNECTION"; echo e >&2'], capture_output=True, timeout=600 * SCALE,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
        self.assertEqual(r.returncode, 0, r.stderr.decode()[-3000:])
        self.assertIn("%d ok" % BIG, r.stderr.decode())
        for i in range(1, BIG + 1):
            with open(os.path.join(outdir, host(i)), "rb") as f:
                self.assertIn(b" %s " % host(i).encode(), f.read())
            with open(os.path.join(errdir, host(i)), "rb") as f:
                self.assertEqual(f.read(), b"e\n")

    def test_soft_limit_raised_to_the_hard_limit(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY and hard <= 200:
            self.skipTest("hard descriptor limit %d" % hard)
        p = subprocess.Popen([RUN, *conn(), "-H", host(1), "--", "sleep %d" % (3 * SCALE)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (100, hard)))
        try:
            time.sleep(1)
            with open("/proc/%d/limits" % p.pid) as f:
                soft = [l.split()[3] for l in f if l.startswith("Max open files")][0]
        finally:
            p.communicate(timeout=60)
        want = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
        self.assertEqual(soft, want)
        self.assertEqual(p.returncode, 0)


class Keys(unittest.TestCase):
    """Issue 16, point 4: an unusable key in the -i list is skipped with one
    warning; a host fails only when no credential works."""

    def keyrun(self, *keys, hosts=3):
        args = []
        for k in keys:
            args += ["-i", k]
        return subprocess.run([RUN, *conn(key=False), *args, "-h", hosts_file("keys.hosts", 1, hosts), "--",
                               "echo in"], capture_output=True, timeout=120)

    def test_encrypted_key_after_a_good_one(self):
        enc = os.path.join(F["FLEET_DIR"], "id_ecdsa_pass")
        r = self.keyrun(F["FLEET_KEY"], enc)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        self.assertEqual(r.stdout.count(b": in\n"), 3)
        self.assertEqual(err.count(enc), 1, "warned once: " + err)
        self.assertIn("encrypted", err)

    def test_not_a_key_before_a_good_one(self):
        r = self.keyrun("/etc/passwd", F["FLEET_KEY"])
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        self.assertEqual(r.stdout.count(b": in\n"), 3)
        self.assertEqual(err.count("/etc/passwd"), 1, "warned once: " + err)

    def test_no_usable_key_names_the_skipped_ones(self):
        enc = os.path.join(F["FLEET_DIR"], "id_ecdsa_pass")
        r = self.keyrun("/etc/passwd", enc, hosts=2)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 2, err)
        failures = [l for l in err.splitlines() if l.startswith("127.0.0.")]
        self.assertEqual(len(failures), 2, err)
        for l in failures:
            self.assertIn("/etc/passwd", l)
            self.assertIn(enc, l)


class Usage(unittest.TestCase):
    """Issue 16, point 5: usage errors exit 64 with a message that names the
    real problem."""

    def usage(self, args, want, stdin=None):
        r = subprocess.run([RUN, *args], capture_output=True, timeout=30, input=stdin)
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 64, (args[:4], err[:300]))
        for w in want:
            self.assertIn(w, err, args[:4])
        for c in err:
            self.assertTrue(c in "\n\t" or " " <= c < "\x7f", "raw byte %r on the terminal" % c)
        self.assertLess(len(err), 1000, "message stays short")
        return err

    def test_option_without_its_argument(self):
        self.usage(["-H"], ["'-H' needs an argument"])
        self.usage(["--hosts"], ["'--hosts' needs an argument"])

    def test_host_with_two_colons_is_not_a_port(self):
        self.usage(["-H", "127.0.0.1:2540:22", "true"], ["127.0.0.1:2540:22", "[", "]"])

    def test_outdir_that_is_a_file(self):
        self.usage(["-H", host(1), "-o", "/etc/passwd", "true"], ["/etc/passwd", "not a directory"])
        self.usage(["-H", host(1), "-e", "/etc/passwd", "true"], ["/etc/passwd", "not a directory"])

    def hostfile(self, data):
        path = os.path.join(F["tmp"], "usage.hosts")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_host_file_with_nul_and_binary_bytes(self):
        p = self.hostfile(b"127.0.0.1\nweb\x00after\n")
        self.usage(["-h", p, "true"], [p + ":2:", "web\\x00after", "NUL"])
        p = self.hostfile(b"ok\n\x1b[31mred\xff\n")
        self.usage(["-h", p, "true"], [p + ":2:", "\\x1b[31mred\\xff"])
        self.usage(["-h", "-", "true"], ["<stdin>:1:", "a\\x00b"], stdin=b"a\x00b\n")

    def test_long_lines_and_names_say_too_long(self):
        p = self.hostfile(b"a" * 100000 + b"\n")
        self.usage(["-h", p, "true"], [p + ":1:", "too long", "100000"])
        label = "x" * 300 + ".example"
        self.usage(["-H", label, "true"], ["too long", "253"])
        self.usage(["-H", "y" * 64 + ".example", "true"], ["too long", "63"])
        self.usage(["-H", ("a" * 60 + ".") * 5, "true"], ["too long", "253"])


class Summary(unittest.TestCase):
    """Issue 16, point 6: a host killed by a signal has its own count."""

    def test_killed_is_not_exited_non_zero(self):
        r = run("-H", "%s,%s,%s" % (host(1), host(2), host(3)), "--progress", "--",
                'case "$SSH_CONNECTION" in *" 127.0.0.2 "*) kill -TERM $$;; *" 127.0.0.3 "*) exit 4;; esac')
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 1, err)
        self.assertIn("3 hosts in", err)
        self.assertIn("1 ok, 1 exited non-zero, 1 killed, 0 failed", err)
        self.assertIn("killed   127.0.0.2: signal TERM", err)


class OutputPath(unittest.TestCase):
    """Issue 16, point 7: pssh-run writes its own buffer in large writes; a
    write that fails is reported, never silently dropped."""

    def test_standard_output_that_cannot_be_written(self):
        with open("/dev/full", "wb") as full:
            r = subprocess.run([RUN, *conn(), "-H", "%s,%s" % (host(1), host(2)), "--", "seq 1 1000"],
                               stdout=full, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 74, r.stderr)
        self.assertIn(b"standard output", r.stderr)

    def test_many_lines_whole_with_their_prefix(self):
        r = run("-H", "%s,%s" % (host(1), host(2)), "--", "seq 1 150000; printf 'x%.0s' $(seq 1 70000)")
        self.assertEqual(r.returncode, 0, r.stderr)
        for i in (1, 2):
            pfx = host(i).encode() + b": "
            mine = [l[len(pfx):] for l in r.stdout.split(b"\n") if l.startswith(pfx)]
            self.assertEqual(mine, [b"%d" % k for k in range(1, 150001)] + [b"x" * 70000])
        self.assertEqual(r.stdout.count(b"\n"), 2 * 150001)


class JsonStream(unittest.TestCase):
    """Issue 16, point 8: --json-stream, one object per line, per output
    line and per host's end."""

    def test_every_line_is_an_object_and_the_bytes_come_back(self):
        cmd = r'printf "a\n\xff\xfe b\r\n"; echo e1 >&2; seq 1 3000; printf tail; exit 3'
        r = run("-H", "%s,%s" % (host(1), host(2)), "-H", "127.0.0.1:1", "--json-stream", "--", cmd)
        self.assertEqual(r.returncode, 2, r.stderr)
        objs = [json.loads(l) for l in r.stdout.decode("utf-8", "surrogatepass").splitlines()]
        ends = {}
        data = {}
        for o in objs:
            self.assertNotIn(o["index"], ends, "nothing from a host after its end")
            if "stream" in o:
                self.assertEqual(sorted(o), ["data", "host", "index", "stream"])
                data.setdefault((o["index"], o["stream"]), []).append(o["data"])
            else:
                ends[o["index"]] = o
        self.assertEqual(sorted(ends), [0, 1, 2])
        want = b"a\n\xff\xfe b\r\n" + b"".join(b"%d\n" % k for k in range(1, 3001)) + b"tail"
        for i in (0, 1):
            got = "".join(data[(i, "stdout")]).encode("utf-8", "surrogateescape")
            self.assertEqual(got, want)
            self.assertEqual(data[(i, "stderr")], ["e1\n"])
            self.assertEqual(len(data[(i, "stdout")]), 3003, "one object per line")
            self.assertEqual(ends[i]["exit_code"], 3)
            self.assertEqual(ends[i]["host"], host(i + 1))
            self.assertNotIn("stdout", ends[i])
            self.assertEqual(sorted(ends[i]["timings_ms"]), ["auth", "connect", "exec", "handshake", "run"])
        self.assertEqual(ends[2]["error"], "PSSH_E_REFUSED")
        self.assertNotIn((2, "stdout"), data)

    def peak_rss_kib(self, mode, cmd, out):
        # ru_maxrss keeps its high-water mark across exec, and a child of
        # this test process starts at this process's size (tens of MB after
        # the tests before): a small python spawns pssh-run and reports.
        spawn = ("import os, sys\n"
                 "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
                 "pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ,"
                 " file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1)])\n"
                 "_, status, usage = os.wait4(pid, 0)\n"
                 "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n")
        r = subprocess.run([sys.executable, "-S", "-c", spawn, out, RUN, *conn(), "-H", host(1), mode, "--", cmd],
                           capture_output=True, timeout=300 * SCALE)
        code, rss = map(int, r.stdout.split())
        self.assertEqual(code, 0, (mode, r.stderr))
        return rss

    def test_memory_stays_bounded_where_json_keeps_the_output(self):
        # 24 MiB in 1,000-byte lines: --json holds it all (pssh-run(1) says
        # so), --json-stream holds none of it. Relative, so that a memory
        # checker's own overhead does not matter.
        cmd = "head -c 25165824 /dev/zero | tr '\\0' x | fold -w 1000"
        out = os.path.join(F["tmp"], "stream.json")
        stream = self.peak_rss_kib("--json-stream", cmd, out)
        with open(out, "rb") as f:
            objs = [json.loads(l) for l in f]
        self.assertEqual(sum(len(o.get("data", "")) for o in objs), 25165824 + 25165, "every byte, as objects")
        whole = self.peak_rss_kib("--json", cmd, out)
        sys.stderr.write("[peak RSS: --json-stream %d KiB, --json %d KiB] " % (stream, whole))
        self.assertGreater(whole - stream, 16 << 10, "--json %d KiB, --json-stream %d KiB" % (whole, stream))


class Promises(unittest.TestCase):
    """Issue 15, item 9: what pssh-run(1) promises, checked."""

    def test_command_timeout_is_a_failure(self):
        t0 = time.monotonic()
        # Host 1 waits for stdin, which ends when the timeout closes its channel.
        r = run("-H", "%s,%s" % (host(1), host(2)), "-T", "1", "--",
                'case "$SSH_CONNECTION" in *" 127.0.0.1 "*) read x;; esac; echo done')
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertLess(time.monotonic() - t0, 15 * SCALE)
        self.assertIn(b"127.0.0.1: command: timeout", r.stderr)
        self.assertIn(b"[PSSH_E_TIMEOUT]", r.stderr)
        self.assertEqual(r.stdout, b"127.0.0.2: done\n")

    def test_password_env(self):
        if not F.get("FLEET_PW_HOST"):
            self.skipTest("the fleet has no password host (it needs root)")
        args = ["-p", F["FLEET_PORT"], "--known-hosts", F["FLEET_KNOWN_HOSTS"], "--no-agent", "-t", "10",
                "-r", "0", "-H", F["FLEET_PW_HOST"], "--password-env", "PSSH_TEST_PW", "--", "echo in"]
        env = dict(os.environ, HOME=F["tmp"], PSSH_TEST_PW=F["FLEET_PASSWORD"])
        r = subprocess.run([RUN, *args], capture_output=True, timeout=60, env=env)
        self.assertEqual((r.returncode, r.stdout), (0, b"%s: in\n" % F["FLEET_PW_HOST"].encode()), r.stderr)
        env["PSSH_TEST_PW"] = "wrong"
        r = subprocess.run([RUN, *args], capture_output=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"[PSSH_E_AUTH]", r.stderr)
        del env["PSSH_TEST_PW"]
        r = subprocess.run([RUN, *args], capture_output=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 64, r.stderr)
        self.assertIn(b"PSSH_TEST_PW", r.stderr)

    def test_exit_73_when_a_host_file_cannot_be_made(self):
        out = os.path.join(F["tmp"], "out73")
        os.makedirs(os.path.join(out, host(2)), exist_ok=True)  # a directory where host 2's file goes
        r = run("-H", "%s,%s,%s" % (host(1), host(2), host(3)), "-o", out, "--", "echo x")
        self.assertEqual(r.returncode, 73, r.stderr)
        self.assertIn(os.path.join(out, host(2)).encode(), r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines()), [b"%s: x" % host(i).encode() for i in (1, 2, 3)],
                         "every host ran")
        for i in (1, 3):
            with open(os.path.join(out, host(i)), "rb") as f:
                self.assertEqual(f.read(), b"x\n")

    def test_every_host_gets_its_file_empty_when_it_failed(self):
        out, err = os.path.join(F["tmp"], "every.out"), os.path.join(F["tmp"], "every.err")
        r = run("-H", "%s,127.0.0.1:1,nowhere.invalid" % host(1), "-o", out, "-e", err, "--", "echo x")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(sorted(os.listdir(out)), sorted([host(1), "127.0.0.1:1", "nowhere.invalid"]))
        self.assertEqual(sorted(os.listdir(err)), sorted(os.listdir(out)))
        for d in (out, err):
            for name in ("127.0.0.1:1", "nowhere.invalid"):
                self.assertEqual(os.path.getsize(os.path.join(d, name)), 0)
        with open(os.path.join(out, host(1)), "rb") as f:
            self.assertEqual(f.read(), b"x\n")

    def test_quiet_still_prints_host_errors(self):
        r = run("-q", "-H", "%s,127.0.0.1:1" % host(1), "--", "echo x; echo y >&2")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(r.stderr.decode().splitlines(),
                         ["127.0.0.1:1: connect: 127.0.0.1 port 1: Connection refused [PSSH_E_REFUSED]"])

    def test_group_with_failed_hosts(self):
        r = run("--group", "-H", "127.0.0.1:1,%s,%s,127.0.0.1:2" % (host(1), host(2)), "--",
                'case "$SSH_CONNECTION" in *" 127.0.0.1 "*) echo one;; esac')
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout.decode(),
                         "----------------\n127.0.0.1:1, 127.0.0.2, 127.0.0.1:2 (3)\n----------------\n"
                         "----------------\n127.0.0.1 (1)\n----------------\none\n")
        self.assertEqual(r.stderr.count(b"[PSSH_E_REFUSED]"), 2)

    def test_line_over_a_mebibyte_in_pieces_with_their_prefix(self):
        r = run("-H", host(1), "--", "head -c 2600000 /dev/zero | tr '\\0' x; echo; echo after")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.split(b"\n")
        self.assertEqual(lines[-1], b"")
        lines = lines[:-1]
        self.assertGreaterEqual(len(lines), 4)
        self.assertTrue(all(l.startswith(b"127.0.0.1: ") for l in lines))
        pieces = [l[len(b"127.0.0.1: "):] for l in lines]
        self.assertEqual(pieces[-1], b"after")
        self.assertEqual(b"".join(pieces[:-1]), b"x" * 2600000)
        self.assertTrue(all(len(p) <= 1 << 20 for p in pieces))

    def test_json_in_finishing_order_with_phases_not_reached(self):
        r = run("--json", "-H", "%s,%s,127.0.0.1:1" % (host(1), host(2)), "--",
                'case "$SSH_CONNECTION" in *" 127.0.0.1 "*) sleep %d;; esac; echo x' % (3 * SCALE))
        objs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([o["index"] for o in objs], [2, 1, 0], "refused first, the sleeper last")
        t = objs[0]["timings_ms"]
        self.assertEqual((t["handshake"], t["auth"], t["exec"], t["run"]), (-1, -1, -1, -1))
        self.assertGreaterEqual(objs[2]["timings_ms"]["run"], 3000 * SCALE - 100)
        self.assertTrue(all(v >= 0 for v in objs[1]["timings_ms"].values()))

    def test_hosts_from_standard_input(self):
        r = run("-h", "-", "--", "echo x", stdin=("# two\n%s\n%s  # b\n" % (host(1), host(2))).encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines()), [b"127.0.0.1: x", b"127.0.0.2: x"])


class ThousandHosts(unittest.TestCase):
    """Issue 16, point 3's target: 1,000 hosts with -o and -e under the
    usual soft limit of 1024 descriptors. A fleet of its own; not in the
    fast suite (meson test --suite big)."""

    def test_thousand_hosts_with_files(self):
        d = tempfile.mkdtemp(prefix="pssh-tools-1000-")
        try:
            env = start_fleet(1000, d + "/fleet")
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            r = subprocess.run([RUN, "-p", env["FLEET_PORT"], "-i", env["FLEET_KEY"], "--known-hosts",
                                env["FLEET_KNOWN_HOSTS"], "--no-agent", "-t", str(600 * SCALE), "-r", "0",
                                "-h", env["FLEET_HOSTS"], "-o", d + "/out", "-e", d + "/err", "-q", "--progress",
                                "--", "echo o; echo e >&2"], capture_output=True, timeout=1800 * SCALE,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)))
            sys.stderr.write(r.stderr.decode()[-2000:])
            self.assertEqual(r.returncode, 0)
            self.assertIn("1000 ok", r.stderr.decode())
            self.assertEqual(len(os.listdir(d + "/out")), 1000)
            self.assertEqual(len(os.listdir(d + "/err")), 1000)
        finally:
            subprocess.run([FLEET_TOOL, "stop", d + "/fleet"], timeout=120)
            shutil.rmtree(d, ignore_errors=True)


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
