// sniff_private_key and load_private_key_file on keys made by ssh-keygen
// (and openssl) at test time: type, encryption, and the error class.
#include "ssh/pkey.hpp"
#include "support.hpp"
#include "util/errors.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SSH_KEYGEN
#define SSH_KEYGEN "ssh-keygen"
#endif
#ifndef OPENSSL_CLI
#define OPENSSL_CLI "openssl"
#endif

using pssh::load_private_key_file;
using pssh::PrivateKey;
using pssh::Secret;
using pssh::sniff_private_key;

namespace {

const char *const kPass = "correct horse";

Secret secret(const char *s)
{
    Secret x;
    x.value = s;
    return x;
}

// Makes a key with ssh-keygen; format "" is OpenSSH's own. Returns its path.
std::string keygen(const unit::TempDir &dir, const std::string &type, int bits, const std::string &format,
                   const std::string &pass)
{
    const std::string path = dir.file(type + std::to_string(bits) + format + (pass.empty() ? "" : "-enc"));
    std::vector<std::string> argv = {SSH_KEYGEN, "-q", "-t", type, "-N", pass, "-C", "unit", "-f", path};
    if (bits)
        argv.insert(argv.end(), {"-b", std::to_string(bits)});
    if (!format.empty())
        argv.insert(argv.end(), {"-m", format});
    if (format.empty() && !pass.empty())
        argv.insert(argv.end(), {"-a", "1"}); // one bcrypt round: the test needs no strength, only speed
    unit::RunResult r = unit::run(argv);
    if (r.status != 0)
        cr_skip_test("ssh-keygen -t %s -m %s failed (status %d): not installed?", type.c_str(), format.c_str(),
                     r.status);
    return path;
}

PrivateKey key_from(const std::string &data)
{
    PrivateKey k;
    k.origin = "key in memory";
    k.data.value = data;
    return k;
}

const char *err_name(pssh_err e) { return pssh::error_name(e); }

struct Want {
    pssh_err rc;
    const char *type; // checked when rc is PSSH_OK
    bool encrypted, openssh;
};

void expect_sniff(const std::string &path, const Secret *pass, const Want &w)
{
    PrivateKey k;
    std::string why;
    pssh_err rc = load_private_key_file(path, pass, k, &why);
    cr_expect(rc == w.rc, "%s (passphrase %s): got %s (%s), want %s", path.c_str(),
              pass ? ("\"" + pass->value + "\"").c_str() : "none", err_name(rc), why.c_str(), err_name(w.rc));
    if (rc != PSSH_OK) {
        cr_expect(!why.empty(), "%s: error without a reason", path.c_str());
        return;
    }
    cr_expect(k.type == w.type, "%s: type \"%s\", want \"%s\"", path.c_str(), k.type.c_str(), w.type);
    cr_expect(k.encrypted == w.encrypted, "%s: encrypted=%d, want %d", path.c_str(), k.encrypted, w.encrypted);
    cr_expect(k.openssh_format == w.openssh, "%s: openssh_format=%d, want %d", path.c_str(), k.openssh_format,
              w.openssh);
    cr_expect(k.origin == path, "origin \"%s\"", k.origin.c_str());
}

} // namespace

Test(pkey, openssh_format_types)
{
    unit::TempDir dir;
    expect_sniff(keygen(dir, "ed25519", 0, "", ""), nullptr, {PSSH_OK, "ssh-ed25519", false, true});
    expect_sniff(keygen(dir, "ecdsa", 256, "", ""), nullptr, {PSSH_OK, "ecdsa-sha2-nistp256", false, true});
    expect_sniff(keygen(dir, "ecdsa", 384, "", ""), nullptr, {PSSH_OK, "ecdsa-sha2-nistp384", false, true});
    expect_sniff(keygen(dir, "ecdsa", 521, "", ""), nullptr, {PSSH_OK, "ecdsa-sha2-nistp521", false, true});
    expect_sniff(keygen(dir, "rsa", 1024, "", ""), nullptr, {PSSH_OK, "ssh-rsa", false, true});
    // A passphrase given for a clear key is harmless.
    Secret p = secret(kPass);
    expect_sniff(keygen(dir, "ed25519", 0, "RFC4716", ""), &p, {PSSH_OK, "ssh-ed25519", false, true});
}

Test(pkey, openssh_format_encrypted)
{
    unit::TempDir dir;
    const std::string path = keygen(dir, "ed25519", 0, "", kPass);
    Secret right = secret(kPass), empty = secret("");
    expect_sniff(path, &right, {PSSH_OK, "ssh-ed25519", true, true});
    expect_sniff(path, nullptr, {PSSH_E_PASSPHRASE, "", true, true});
    expect_sniff(path, &empty, {PSSH_E_PASSPHRASE, "", true, true});
    // The type is read from the clear public part even when encrypted.
    const std::string ec = keygen(dir, "ecdsa", 384, "", kPass);
    expect_sniff(ec, &right, {PSSH_OK, "ecdsa-sha2-nistp384", true, true});
}

Test(pkey, pem_and_pkcs8_types)
{
    unit::TempDir dir;
    for (const char *fmt : {"PEM", "PKCS8"}) {
        expect_sniff(keygen(dir, "ecdsa", 256, fmt, ""), nullptr, {PSSH_OK, "ecdsa-sha2-nistp256", false, false});
        expect_sniff(keygen(dir, "ecdsa", 384, fmt, ""), nullptr, {PSSH_OK, "ecdsa-sha2-nistp384", false, false});
        expect_sniff(keygen(dir, "ecdsa", 521, fmt, ""), nullptr, {PSSH_OK, "ecdsa-sha2-nistp521", false, false});
        expect_sniff(keygen(dir, "rsa", 1024, fmt, ""), nullptr, {PSSH_OK, "ssh-rsa", false, false});
    }
}

Test(pkey, pkcs8_ed25519_from_openssl)
{
    unit::TempDir dir;
    const std::string path = dir.file("ed.pem");
    unit::RunResult r = unit::run({OPENSSL_CLI, "genpkey", "-algorithm", "ed25519", "-out", path});
    if (r.status != 0)
        cr_skip_test("openssl genpkey failed");
    expect_sniff(path, nullptr, {PSSH_OK, "ssh-ed25519", false, false});
}

Test(pkey, pem_encrypted_passphrase_is_checked)
{
    unit::TempDir dir;
    Secret right = secret(kPass), wrong = secret("wrong horse"), empty = secret("");
    for (const char *fmt : {"PEM", "PKCS8"}) {
        for (const std::string &path : {keygen(dir, "ecdsa", 256, fmt, kPass), keygen(dir, "rsa", 1024, fmt, kPass)}) {
            const char *type = path.find("rsa") != std::string::npos ? "ssh-rsa" : "ecdsa-sha2-nistp256";
            expect_sniff(path, &right, {PSSH_OK, type, true, false});
            expect_sniff(path, nullptr, {PSSH_E_PASSPHRASE, "", true, false});
            expect_sniff(path, &empty, {PSSH_E_PASSPHRASE, "", true, false});
            expect_sniff(path, &wrong, {PSSH_E_PASSPHRASE, "", true, false});
        }
    }
}

Test(pkey, not_private_keys)
{
    unit::TempDir dir;
    const std::string priv = keygen(dir, "ed25519", 0, "", "");
    const std::string pub = unit::read_file(priv + ".pub");
    cr_assert(!pub.empty());
    struct Case {
        std::string name, data, why_mentions;
    };
    const std::string full = unit::read_file(priv);
    const std::string begin = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
    const std::string end = "-----END OPENSSH PRIVATE KEY-----\n";
    const std::string body = full.substr(begin.size(), full.size() - begin.size() - end.size());
    const std::string first_line = body.substr(0, body.find('\n'));
    std::vector<Case> cases = {
        {"empty", "", "not a private key"},
        {"garbage", "hello, world\n", "not a private key"},
        {"binary", std::string("\0\x01\x02\xff", 4), "not a private key"},
        {"public key", pub, "public key"},
        {"ecdsa public key", "ecdsa-sha2-nistp256 AAAAE2VjZHNh unit\n", "public key"},
        // 70 base64 characters: not a multiple of 4.
        {"cut base64", begin + first_line + "\n" + end, "base64"},
        // Whole quads, but the structure stops early.
        {"truncated", begin + first_line.substr(0, 40) + "\n" + end, "truncated"},
        {"no end marker", begin + body, "PEM"},
        {"bad magic", begin + unit::base64("openssh-key-v2") + "\n" + end, "openssh-key-v1"},
        {"bad base64 chars", begin + "!!!!\n" + end, "base64"},
        {"pem garbage", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", "PEM"},
        {"pem no body", "-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n", "PEM"},
    };
    for (const Case &c : cases) {
        PrivateKey k = key_from(c.data);
        std::string why;
        pssh_err rc = sniff_private_key(k, nullptr, &why);
        cr_expect(rc == PSSH_E_PKEY, "%s: got %s (%s), want PSSH_E_PKEY", c.name.c_str(), err_name(rc), why.c_str());
        cr_expect(why.find(c.why_mentions) != std::string::npos, "%s: reason \"%s\" lacks \"%s\"", c.name.c_str(),
                  why.c_str(), c.why_mentions.c_str());
        cr_expect(why.find("key in memory") != std::string::npos, "%s: reason \"%s\" does not name the origin",
                  c.name.c_str(), why.c_str());
        // why is optional.
        PrivateKey again = key_from(c.data);
        cr_expect(sniff_private_key(again, nullptr, nullptr) == PSSH_E_PKEY);
    }
}

Test(pkey, in_memory_key_is_sniffed_like_a_file)
{
    unit::TempDir dir;
    PrivateKey k = key_from(unit::read_file(keygen(dir, "ecdsa", 256, "PEM", "")));
    cr_assert_eq(sniff_private_key(k, nullptr, nullptr), PSSH_OK);
    cr_expect(k.type == "ecdsa-sha2-nistp256", "type %s", k.type.c_str());
    // CRLF line endings (a key edited on Windows) still read.
    std::string crlf;
    for (char c : unit::read_file(keygen(dir, "ed25519", 0, "", "")))
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    PrivateKey k2 = key_from(crlf);
    std::string why;
    cr_expect_eq(sniff_private_key(k2, nullptr, &why), PSSH_OK, "CRLF key: %s", why.c_str());
}

Test(pkey, load_file_errors)
{
    unit::TempDir dir;
    PrivateKey k;
    std::string why;
    const std::string missing = dir.file("no-such-key");
    cr_expect_eq(load_private_key_file(missing, nullptr, k, &why), PSSH_E_PKEY);
    cr_expect(why.find(missing) != std::string::npos, "reason \"%s\" lacks the path", why.c_str());
    cr_expect(why.find("No such file") != std::string::npos, "reason \"%s\" lacks the cause", why.c_str());

    why.clear();
    cr_expect_eq(load_private_key_file(dir.path(), nullptr, k, &why), PSSH_E_PKEY, "directory: %s", why.c_str());
    cr_expect(why.find("regular file") != std::string::npos, "directory: reason \"%s\"", why.c_str());

    // A valid key padded past 1 MiB: refused for its size alone.
    const std::string big = dir.file("big");
    const std::string key = unit::read_file(keygen(dir, "ed25519", 0, "", ""));
    cr_assert(unit::write_file(big, key + std::string((1 << 20) + 1 - key.size(), '\n')));
    cr_expect_eq(load_private_key_file(big, nullptr, k, &why), PSSH_E_PKEY, "oversized file: %s", why.c_str());

    const std::string empty = dir.file("empty");
    cr_assert(unit::write_file(empty, ""));
    cr_expect_eq(load_private_key_file(empty, nullptr, k, &why), PSSH_E_PKEY, "empty file: %s", why.c_str());

    // An earlier key's fields do not survive a failed load.
    const std::string good = keygen(dir, "ed25519", 0, "RFC4716", "");
    cr_assert_eq(load_private_key_file(good, nullptr, k, nullptr), PSSH_OK);
    cr_expect_eq(load_private_key_file(missing, nullptr, k, nullptr), PSSH_E_PKEY);
    cr_expect(k.data.value.empty() && k.type != "ssh-ed25519" && k.origin == missing);
}

// Root reads any file, so as root the load runs in a child that has
// dropped to nobody (65534); the verdict comes back through a pipe.
Test(pkey, unreadable_file)
{
    unit::TempDir dir;
    const std::string path = keygen(dir, "ed25519", 0, "", "");
    cr_assert_eq(chmod(dir.path().c_str(), 0711), 0); // nobody may pass, not list
    cr_assert_eq(chmod(path.c_str(), 0), 0);
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0);
    const pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        std::string why;
        pssh_err rc = PSSH_E_INTERNAL;
        if (geteuid() != 0 || (setgroups(0, nullptr) == 0 && setgid(65534) == 0 && setuid(65534) == 0)) {
            PrivateKey k;
            rc = load_private_key_file(path, nullptr, k, &why);
        } else {
            why = std::string("cannot drop privileges: ") + strerror(errno);
        }
        const std::string msg = std::to_string(int(rc)) + " " + why;
        (void)!write(pipefd[1], msg.data(), msg.size());
        _exit(0);
    }
    close(pipefd[1]);
    char buf[1024];
    ssize_t n, got = 0;
    while ((n = read(pipefd[0], buf + got, sizeof buf - 1 - size_t(got))) > 0)
        got += n;
    close(pipefd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    buf[got > 0 ? got : 0] = 0;
    int rc = 0;
    char *why = nullptr;
    rc = int(strtol(buf, &why, 10));
    cr_assert(WIFEXITED(st) && got > 0, "the unprivileged child failed: %s", buf);
    cr_expect_eq(rc, PSSH_E_PKEY, "%s", buf);
    cr_expect(strstr(why, "Permission denied") != nullptr, "%s", buf);
}

// Criterion runs each test in its own process, so lowering the descriptor
// limit here touches nothing else.
Test(pkey, out_of_descriptors_is_a_resource_error)
{
    unit::TempDir dir;
    const std::string path = keygen(dir, "ed25519", 0, "", "");
    rlimit lim{64, 64};
    // valgrind keeps descriptors of its own and refuses the lower limit
    // (EPERM); nothing else here does.
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        cr_skip_test("cannot lower RLIMIT_NOFILE here: %s", strerror(errno));
    std::vector<int> fds;
    for (int i = 0; i < 128; i++) {
        int fd = dup(0);
        if (fd < 0)
            break;
        fds.push_back(fd);
    }
    PrivateKey k;
    std::string why;
    pssh_err rc = load_private_key_file(path, nullptr, k, &why);
    for (int fd : fds)
        close(fd);
    cr_expect_eq(rc, PSSH_E_RESOURCE, "got %s (%s)", err_name(rc), why.c_str());
}

// A FIFO with no writer: open() waited for one for ever, and the loop with
// it (issue 14 item 10).
Test(pkey, fifo_is_refused_without_blocking, .timeout = 10)
{
    unit::TempDir dir;
    const std::string path = dir.file("fifo");
    cr_assert_eq(mkfifo(path.c_str(), 0600), 0, "mkfifo: %s", strerror(errno));
    PrivateKey k;
    std::string why;
    cr_expect_eq(load_private_key_file(path, nullptr, k, &why), PSSH_E_PKEY, "%s", why.c_str());
    cr_expect(why.find("FIFO") != std::string::npos, "%s", why.c_str());
}

// The curve by its name, not its size (issue 14 item 16): secp256k1 and
// brainpool keys were typed ecdsa-sha2-nistp256 and offered as such.
Test(pkey, ec_curves_by_name)
{
    unit::TempDir dir;
    struct {
        const char *curve, *type;
    } cases[] = {{"P-256", "ecdsa-sha2-nistp256"}, {"P-384", "ecdsa-sha2-nistp384"},
                 {"P-521", "ecdsa-sha2-nistp521"}, {"secp256k1", nullptr},
                 {"brainpoolP256r1", nullptr},    {"brainpoolP384r1", nullptr},
                 {"brainpoolP512r1", nullptr},    {"prime192v1", nullptr}};
    for (const auto &c : cases) {
        const std::string path = dir.file(c.curve);
        if (unit::run({OPENSSL_CLI, "genpkey", "-algorithm", "EC", "-pkeyopt",
                       std::string("ec_paramgen_curve:") + c.curve, "-out", path})
                .status != 0)
            cr_skip_test("openssl genpkey %s failed", c.curve);
        if (c.type) {
            expect_sniff(path, nullptr, {PSSH_OK, c.type, false, false});
            continue;
        }
        PrivateKey k;
        std::string why;
        pssh_err rc = load_private_key_file(path, nullptr, k, &why);
        cr_expect_eq(rc, PSSH_E_KEY_ALGO, "%s: got %s (%s)", c.curve, err_name(rc), why.c_str());
        cr_expect(why.find(c.curve) != std::string::npos, "%s: reason \"%s\" does not name the curve", c.curve,
                  why.c_str());
    }
}
