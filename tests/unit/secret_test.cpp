// Secrets are wiped wherever they are let go of (issue 14 item 18): values
// replaced through the setters, Secrets moved from, the decoded key
// containers, and the keys the loop's cache holds, which go once no
// Settings refers to them. heapwatch searches every block freed while a
// test runs (C++ and OpenSSL heaps) for the secret's bytes.
#include "heap_watch.hpp"
#include "openssh_key.hpp"
#include "pssh/pssh.h"
#include "ssh/auth.hpp"
#include "ssh/client.hpp"
#include "ssh/loop.hpp"
#include "support.hpp"
#include "util/errors.hpp"

#ifndef SSH_KEYGEN
#define SSH_KEYGEN "ssh-keygen"
#endif

using pssh::Config;
using pssh::Ref;
using pssh::Secret;
using pssh::Settings;

namespace {

std::string keygen(const unit::TempDir &dir, const std::string &name, const std::string &type, int bits)
{
    const std::string path = dir.file(name);
    std::vector<std::string> argv = {SSH_KEYGEN, "-q", "-t", type, "-N", "", "-C", "unit", "-f", path};
    if (bits)
        argv.insert(argv.end(), {"-b", std::to_string(bits)});
    if (unit::run(argv).status != 0)
        cr_skip_test("ssh-keygen -t %s failed: not installed?", type.c_str());
    return path;
}

// A copy of `from` re-encoded by ssh-keygen (format PEM or PKCS8, with a
// passphrase or none).
std::string reencode(const std::string &from, const std::string &format, const std::string &pass)
{
    const std::string path = from + "." + format + (pass.empty() ? "" : "-enc");
    unit::write_file(path, unit::read_file(from));
    chmod(path.c_str(), 0600);
    if (unit::run({SSH_KEYGEN, "-q", "-p", "-P", "", "-N", pass, "-m", format, "-f", path}).status != 0)
        cr_assert_fail("ssh-keygen -p -m %s failed", format.c_str());
    return path;
}

// The bytes of a key that must never be freed unwiped: the secret fields
// of its OpenSSH encoding, and a line of its file's base64 body.
std::vector<std::string> secrets_of(const std::string &openssh_path)
{
    auto k = unit::OpensshKey::parse(unit::read_file(openssh_path));
    std::vector<std::string> out;
    if (k.type == "ssh-ed25519")
        out.push_back(k.fields[1].substr(0, 32)); // the seed
    else if (k.type == "ssh-rsa")
        for (size_t i : {2, 4, 5})              // d, p, q
            out.push_back(k.fields[i].substr(k.fields[i][0] == 0, 24));
    else
        out.push_back(k.fields[2].substr(k.fields[2][0] == 0)); // the scalar
    return out;
}

std::string body_line(const std::string &path)
{
    std::string text = unit::read_file(path);
    size_t a = text.find('\n') + 1;
    a = text.find('\n', a) + 1; // the second line: the first may be a header
    return text.substr(a, text.find('\n', a) - a);
}

Ref<pssh::Loop> new_loop()
{
    pssh_err err;
    auto l = Ref<pssh::Loop>::adopt(pssh::Loop::create(&err));
    cr_assert(l, "loop: %s", pssh::error_name(err));
    return l;
}

Ref<Settings> settings_for(const std::string &key_path, const char *passphrase, const std::string &in_memory = "")
{
    Config over;
    over.set = Config::kPkey | Config::kAgent;
    over.agent = false;
    over.pkey_path = key_path;
    if (!in_memory.empty())
        over.pkey_data.assign(in_memory);
    over.has_passphrase = passphrase != nullptr;
    over.passphrase.assign(passphrase ? passphrase : "");
    Ref<Settings> st;
    cr_assert_eq(pssh::build_settings("127.0.0.1", nullptr, &over, st, nullptr), PSSH_OK);
    return st;
}

void plan(pssh::Loop &loop, Settings &st)
{
    pssh::Authenticator a;
    std::string why;
    pssh_err rc = a.plan(loop, st, &why);
    cr_assert_eq(rc, PSSH_OK, "%s: %s", pssh::error_name(rc), why.c_str());
}

} // namespace

// Replacing a password, passphrase or key by a longer one reallocates:
// the old buffer was freed as it was.
Test(secrets, setters_wipe_what_they_replace)
{
    const std::string pw = "first password, long enough for the heap";
    const std::string key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key but a secret all the same\n";
    const std::string pw_tail = pw.substr(8), key_tail = key.substr(40); // what survives a shorter value
    cr_assert(heapwatch::start(), "OpenSSL allocated before the test began");
    heapwatch::watch(pw_tail);
    heapwatch::watch(key_tail);
    pssh_config *c = nullptr;
    cr_assert_eq(pssh_config_new(&c), PSSH_OK);
    cr_assert_eq(pssh_config_set_password(c, pw.c_str()), PSSH_OK);
    cr_assert_eq(pssh_config_set_password(c, "x"), PSSH_OK);
    cr_assert_eq(pssh_config_set_password(c, std::string(200, 'y').c_str()), PSSH_OK);
    cr_assert_eq(pssh_config_set_pkey_memory(c, key.data(), key.size(), pw.c_str()), PSSH_OK);
    cr_assert_eq(pssh_config_set_pkey_memory(c, "k", 1, "p"), PSSH_OK);
    cr_assert_eq(pssh_config_set_pkey_memory(c, std::string(300, 'k').data(), 300, std::string(300, 'p').c_str()),
                 PSSH_OK);
    cr_assert_eq(pssh_config_set_pkey_memory(c, key.data(), key.size(), pw.c_str()), PSSH_OK);
    pssh_config *d = nullptr;
    cr_assert_eq(pssh_config_dup(c, &d), PSSH_OK);
    cr_assert_eq(pssh_config_set_pkey_file(c, "/nonexistent", std::string(300, 'q').c_str()), PSSH_OK);
    pssh_config_free(c);
    pssh_config_free(d);
    size_t hits = heapwatch::freed_with_secret();
    cr_expect_eq(hits, 0u, "%zu block(s) freed unwiped: %s", hits, heapwatch::findings().c_str());
    heapwatch::stop();
}

// A moved-from Secret keeps no bytes, even in its in-object buffer.
Test(secrets, moved_from_secret_is_empty_and_clean)
{
    for (const std::string &v : {std::string("short one"), std::string(100, 'L')}) {
        Secret a;
        a.assign(v);
        Secret b(std::move(a));
        cr_expect(b.value == v);
        const char *buf = a.value.data();
        for (size_t i = 0; i < a.value.capacity(); i++)
            cr_expect_eq(buf[i], '\0', "move: byte %zu left (value of %zu bytes)", i, v.size());
        Secret c;
        c.assign("something else");
        c = std::move(b);
        cr_expect(c.value == v);
        buf = b.value.data();
        for (size_t i = 0; i < b.value.capacity(); i++)
            cr_expect_eq(buf[i], '\0', "move assignment: byte %zu left", i);
    }
}

// Reading, parsing and caching keys, then letting them go: no block that
// held the key's secret fields (or its base64 text) is freed unwiped, and
// none is left once the last Settings is gone.
Test(secrets, loaded_keys_leave_no_copy)
{
    unit::TempDir dir;
    std::vector<std::string> keys, secrets;
    for (auto [type, bits] : {std::pair<const char *, int>{"ed25519", 0}, {"ecdsa", 384}, {"rsa", 2048}}) {
        const std::string path = keygen(dir, type, type, bits);
        for (const std::string &s : secrets_of(path))
            secrets.push_back(s);
        keys.push_back(path);
        if (std::string(type) != "ed25519") {
            keys.push_back(reencode(path, "PEM", ""));
            keys.push_back(reencode(path, "PKCS8", ""));
        }
    }
    const std::string encrypted = reencode(keygen(dir, "rsa-enc", "rsa", 2048), "PEM", "a passphrase to wipe");
    for (const std::string &s : secrets_of(dir.file("rsa-enc")))
        secrets.push_back(s);
    for (const std::string &k : keys)
        secrets.push_back(body_line(k));
    const std::string in_memory = unit::read_file(keys[0]);

    cr_assert(heapwatch::start(), "OpenSSL allocated before the test began");
    // OpenSSL 3.0's own copies, which no caller can reach: its PEM and DER
    // decoders free the key's DER, and the SEC1 scalar's ASN.1 string,
    // unwiped (openssl/openssl#32676 for the latter). Keys in OpenSSH
    // format, which we parse ourselves, leave nothing.
    heapwatch::ignore_frees_in("encode_decode/decode_pem2der.c");
    heapwatch::ignore_frees_in("encode_decode/decode_der2key.c");
    heapwatch::ignore_frees_in("crypto/asn1/asn1_lib.c");
    for (const std::string &s : secrets)
        heapwatch::watch(s);
    heapwatch::watch("a passphrase to wipe");
    {
        Ref<pssh::Loop> loop = new_loop();
        std::vector<Ref<Settings>> held;
        for (const std::string &k : keys)
            held.push_back(settings_for(k, nullptr));
        held.push_back(settings_for(encrypted, "a passphrase to wipe"));
        held.push_back(settings_for("", nullptr, in_memory));
        for (auto &st : held) {
            plan(*loop, *st);
            plan(*loop, *st); // again: from the cache
        }
        cr_expect_gt(heapwatch::live_with_secret(), 0u, "the watch sees no key at all");
        held.clear();
        cr_expect_eq(loop->cached_signers(), 0u);
        size_t live = heapwatch::live_with_secret();
        cr_expect_eq(live, 0u, "%zu live block(s) still hold a key after its last Settings went", live);
    }
    size_t hits = heapwatch::freed_with_secret();
    cr_expect_eq(hits, 0u, "%zu block(s) freed unwiped: %s", hits, heapwatch::findings().c_str());
    heapwatch::stop();
}

// The cache shares a parsed key between Settings, and drops it when the
// last one goes (it used to keep every key for the loop's whole life).
Test(signer_cache, keeps_a_key_while_some_settings_hold_it)
{
    unit::TempDir dir;
    const std::string a = keygen(dir, "a", "ed25519", 0), b = keygen(dir, "b", "ecdsa", 256);
    Ref<pssh::Loop> loop = new_loop();
    Ref<Settings> s1 = settings_for(a, nullptr), s2 = settings_for(a, nullptr), s3 = settings_for(b, nullptr);
    plan(*loop, *s1);
    plan(*loop, *s2);
    cr_assert_eq(loop->cached_signers(), 1u);
    cr_assert_eq(s1->signers.size(), 1u);
    cr_assert_eq(s1->signers[0].get(), s2->signers[0].get(), "parsed twice");
    plan(*loop, *s3);
    cr_assert_eq(loop->cached_signers(), 2u);
    // A passphrase given for a clear key makes another entry, not a match.
    Ref<Settings> s4 = settings_for(a, "x");
    plan(*loop, *s4);
    cr_assert_eq(loop->cached_signers(), 3u);
    s4 = {};
    s1 = {};
    cr_expect_eq(loop->cached_signers(), 2u, "s2 still holds a");
    s2 = {};
    cr_expect_eq(loop->cached_signers(), 1u, "a is held by no Settings");
    // Planning again (a retry's new plan) reuses what the Settings hold.
    pssh::Signer *before = s3->signers[0].get();
    plan(*loop, *s3);
    cr_expect_eq(s3->signers[0].get(), before);
    s3 = {};
    cr_expect_eq(loop->cached_signers(), 0u);
}

// Settings may outlive their loop (the cache goes with its last key).
Test(signer_cache, a_settings_outliving_its_loop)
{
    unit::TempDir dir;
    const std::string a = keygen(dir, "a", "ed25519", 0);
    Ref<Settings> st = settings_for(a, nullptr);
    {
        Ref<pssh::Loop> loop = new_loop();
        plan(*loop, *st);
    }
    st = {};
}
