#!/usr/bin/env python3
"""pssh-run with host ranges and OpenSSH client configuration (issue 19), as
a user runs it, against a small fleet of real sshd hosts this test starts
(tools/pssh-fleet) and stops by pid. Names that are neither in a config nor
in the stand-in resolver (tests/fixtures/stub-dns-run) do not resolve.

    test_tools_config.py BUILD_DIR SOURCE_DIR [unittest args]
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD, SRC = sys.argv[1], sys.argv[2]
RUN = os.path.join(BUILD, "tools", "pssh-run")
FLEET_TOOL = os.path.join(SRC, "tools", "pssh-fleet")
N = 8
F = {}
# Each host prints the address the server side sees: where HostName led.
WHERE = "echo $SSH_CONNECTION | cut -d' ' -f3"


def setUpModule():
    F["tmp"] = tempfile.mkdtemp(prefix="pssh-tools-config-")
    out = subprocess.run([FLEET_TOOL, "start", str(N), F["tmp"] + "/fleet", "--watch", str(os.getpid())], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    for line in out.splitlines():
        k, _, v = line.partition("=")
        F[k] = v


def tearDownModule():
    subprocess.run([FLEET_TOOL, "stop", F["tmp"] + "/fleet"], timeout=60)
    shutil.rmtree(F["tmp"], ignore_errors=True)


def conn():
    """What a connection to the fleet needs, on the command line."""
    return ["-p", F["FLEET_PORT"], "-i", F["FLEET_KEY"], "--known-hosts", F["FLEET_KNOWN_HOSTS"]]


def everything_else():
    """Options that are no part of what a test checks: no agent, one quick try."""
    return ["--no-agent", "-t", "10", "-r", "0"]


def fleet_block(patterns):
    """An ssh_config block with all a connection to the fleet needs."""
    return ("Host %s\n  User %s\n  Port %s\n  IdentityFile %s\n  IdentitiesOnly yes\n"
            "  UserKnownHostsFile %s\n" % (patterns, F["FLEET_USER"], F["FLEET_PORT"], F["FLEET_KEY"],
                                           F["FLEET_KNOWN_HOSTS"]))


def write(name, text):
    path = os.path.join(F["tmp"], name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def home_with(name, config):
    """A home directory whose ~/.ssh/config is `config`."""
    home = os.path.join(F["tmp"], name)
    write(os.path.join(name, ".ssh", "config"), config)
    return home


def run(*args, home=None, etc=None, env_home=None, timeout=120):
    """pssh-run ARGS. With `home` or `etc`, in a mount namespace of its own
    where that folder is bind-mounted on the home directory (ssh, and
    libpssh, take it from the password database, not $HOME) and that file
    on /etc/ssh/ssh_config: the machine's files are never touched."""
    env = dict(os.environ)
    env.pop("PSSH_DEBUG", None)
    cmd = [RUN, *everything_else(), *args]
    if home or etc:
        if shutil.which("unshare") is None or os.geteuid() != 0:
            raise unittest.SkipTest("needs root and unshare(1) for a mount namespace")
        script = 'set -e; [ -z "$1" ] || mount --bind "$1" "$0"; ' \
                 '[ -z "$2" ] || mount --bind "$2" /etc/ssh/ssh_config; shift 2; exec "$@"'
        pw_home = pwd.getpwuid(os.getuid()).pw_dir
        env["HOME"] = env_home or pw_home
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, pw_home, home or "",
               etc or "", *cmd]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)


def lines(r):
    return sorted(r.stdout.decode().splitlines())


class Ranges(unittest.TestCase):
    def test_a_range_on_the_command_line(self):
        r = run("-F", "none", *conn(), "-H", "127.0.0.[1-3]", "--", "echo x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["127.0.0.%d: x" % i for i in (1, 2, 3)])

    def test_a_list_inside_brackets_and_a_list_outside(self):
        r = run("-F", "none", *conn(), "-H", "127.0.0.[1-2,5], 127.0.0.7", "--", "echo x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["127.0.0.%d: x" % i for i in (1, 2, 5, 7)])

    def test_ranges_in_a_host_file(self):
        path = write("ranges.hosts", "# two ranges\n127.0.0.[6-8]   # three\n\n127.0.0.[1,3]\n")
        r = run("-F", "none", *conn(), "-h", path, "--", "echo x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["127.0.0.%d: x" % i for i in (1, 3, 6, 7, 8)])

    def test_zero_padding_is_kept(self):
        # web01..web03 exist only as ssh_config names: a host named "web1"
        # would not resolve.
        cfg = write("padded.config", "".join("Host web%02d\n  HostName 127.0.0.%d\n" % (i, i) for i in (1, 2, 3))
                    + fleet_block("web*"))
        r = run("-F", cfg, "-H", "web[01-03]", "--", WHERE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["web0%d: 127.0.0.%d" % (i, i) for i in (1, 2, 3)])

    def test_bad_ranges_are_usage_errors_before_connecting(self):
        bad = write("bad-range.hosts", "127.0.0.1\nweb[1-\n")
        cases = [
            (["-H", "web[01-]"], "malformed host range 'web[01-]'"),
            (["-H", "web[3-1]"], "goes backwards"),
            (["-H", "web[1-5"], "'[' without ']'"),
            (["-H", "n[1-1000][1-1001]"], "expands to more than 1,000,000 hosts"),
            (["-H", "n[0-1000000]"], "expands to more than 1,000,000 hosts"),
            (["-h", bad], bad + ":2: malformed host range"),
            (["-H", "ok[1-2],bad host"], "malformed host 'bad host'"),
        ]
        for args, want in cases:
            r = subprocess.run([RUN, *args, "true"], capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 64, args)
            self.assertIn(want, r.stderr.decode(), args)
            self.assertEqual(r.stdout, b"", args)

    def test_a_million_hosts_is_the_limit_not_an_error(self):
        # Expanded and checked, then refused for another reason: the range
        # itself is accepted (the command is missing).
        r = subprocess.run([RUN, "-H", "n[1-1000000]"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 64)
        self.assertIn("no command given", r.stderr.decode())


class SshConfig(unittest.TestCase):
    def test_home_ssh_config_is_read_by_default(self):
        # The home directory is the password database's, as for ssh: a
        # different $HOME is not where ~/.ssh/config is.
        home = home_with("home-default", "Host cfghost\n  HostName 127.0.0.3\n" + fleet_block("cfghost"))
        decoy = home_with("home-decoy", "Host cfghost\n  HostName 127.0.0.7\n" + fleet_block("cfghost"))
        r = run("-H", "cfghost", "--", WHERE, home=home, env_home=decoy)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["cfghost: 127.0.0.3"])

    def test_tilde_and_percent_expansions(self):
        # IdentityFile ~/key is the home's; %h is the host name given ("4"
        # here), %d the home directory and %% a plain percent sign.
        home = home_with("home-tilde", "Host 4\n  HostName 127.0.0.%h\n"
                         "  IdentityFile ~/key\n  UserKnownHostsFile %d/kh%%\n"
                         "  User " + F["FLEET_USER"] + "\n  Port " + F["FLEET_PORT"] + "\n  IdentitiesOnly yes\n")
        shutil.copy(F["FLEET_KEY"], os.path.join(home, "key"))
        os.chmod(os.path.join(home, "key"), 0o600)
        shutil.copy(F["FLEET_KNOWN_HOSTS"], os.path.join(home, "kh%"))
        r = run("-H", "4", "--", WHERE, home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["4: 127.0.0.4"])

    def test_F_none_reads_no_file(self):
        home = home_with("home-none", "Host cfghost\n  HostName 127.0.0.3\n" + fleet_block("cfghost"))
        r = run("-F", "none", *conn(), "-H", "cfghost", "--", WHERE, home=home)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"[PSSH_E_UNKNOWN_HOST]", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_F_file_is_read_instead_of_the_defaults(self):
        # First value wins: were ~/.ssh/config read too, 127.0.0.3 would.
        home = home_with("home-instead", "Host cfghost\n  HostName 127.0.0.3\n" + fleet_block("cfghost"))
        cfg = write("instead.config", "Host cfghost\n  HostName 127.0.0.5\n" + fleet_block("cfghost"))
        r = run("--ssh-config", cfg, "-H", "cfghost", "--", WHERE, home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["cfghost: 127.0.0.5"])

    def test_options_on_the_command_line_win_over_the_file(self):
        # The file's user and port lead nowhere; -l and -p win, as with ssh.
        cfg = write("overridden.config", "Host 127.0.0.6\n  User nosuchuser\n  Port 1\n" + fleet_block("*"))
        r = run("-F", cfg, "-H", "127.0.0.6", "--", "echo x")
        self.assertEqual(r.returncode, 2, "the file is read: port 1 is refused")
        self.assertIn(b"[PSSH_E_REFUSED]", r.stderr)
        r = run("-F", cfg, "-l", F["FLEET_USER"], "-p", F["FLEET_PORT"], "-H", "127.0.0.6", "--", "whoami")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["127.0.0.6: " + F["FLEET_USER"]])

    def test_a_missing_F_file_is_a_usage_error(self):
        r = run("-F", os.path.join(F["tmp"], "no-such-config"), *conn(), "-H", "127.0.0.1", "--", "true")
        self.assertEqual(r.returncode, 64)
        self.assertIn("no-such-config: No such file or directory", r.stderr.decode())

    def test_unsupported_keyword_warns_once_for_many_hosts(self):
        cfg = write("warn.config", "Host *\n  ForwardAgent yes\n" + fleet_block("*"))
        r = run("-F", cfg, "-H", "127.0.0.[1-8]", "--", "echo x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(lines(r)), 8)
        err = r.stderr.decode()
        self.assertEqual(err.count("ForwardAgent is not supported"), 1, err)
        self.assertIn("pssh-run: warning: ssh_config: ", err)

    def test_etc_ssh_config_is_read_after_the_home_one(self):
        system = write("etc-ssh_config", "Host cfghost sysonly\n  HostName 127.0.0.8\n" + fleet_block("*"))
        home = home_with("home-etc", "Host cfghost\n  HostName 127.0.0.2\n")
        r = run("-H", "cfghost,sysonly", "--", WHERE, home=home, etc=system)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(lines(r), ["cfghost: 127.0.0.2", "sysonly: 127.0.0.8"])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
