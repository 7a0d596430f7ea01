// Signer::make on keys made by ssh-keygen and openssl at test time: the
// blob it offers, the signatures it makes (RSA as libssh2 1.10 wants them),
// and the keys it refuses: halves that do not belong together (issue 14
// item 15) and EC curves SSH has no name for (item 16).
#include "openssh_key.hpp"
#include "ssh/signer.hpp"
#include "support.hpp"
#include "util/errors.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#ifndef SSH_KEYGEN
#define SSH_KEYGEN "ssh-keygen"
#endif
#ifndef OPENSSL_CLI
#define OPENSSL_CLI "openssl"
#endif

using pssh::PrivateKey;
using pssh::Ref;
using pssh::Signer;

namespace {

// ssh-keygen in OpenSSH format, or re-encoded as PEM or PKCS8.
std::string keygen(const unit::TempDir &dir, const std::string &name, const std::string &type, int bits,
                   const std::string &format = "", const std::string &pass = "")
{
    const std::string path = dir.file(name);
    std::vector<std::string> argv = {SSH_KEYGEN, "-q", "-t", type, "-N", pass, "-a", "1", "-C", "unit", "-f", path};
    if (bits)
        argv.insert(argv.end(), {"-b", std::to_string(bits)});
    if (!format.empty())
        argv.insert(argv.end(), {"-m", format});
    if (unit::run(argv).status != 0)
        cr_skip_test("ssh-keygen -t %s failed: not installed?", type.c_str());
    return path;
}

PrivateKey key_from(const std::string &text, bool openssh, bool encrypted = false)
{
    PrivateKey k;
    k.origin = "key in memory";
    k.data.value = text;
    k.openssh_format = openssh;
    k.encrypted = encrypted;
    return k;
}

Ref<Signer> make_ok(const PrivateKey &k, const pssh::Secret *pass = nullptr)
{
    Ref<Signer> s;
    std::string why;
    pssh_err rc = Signer::make(k, pass, s, &why);
    cr_assert_eq(rc, PSSH_OK, "%s: %s", pssh::error_name(rc), why.c_str());
    return s;
}

std::string make_fails(const PrivateKey &k, pssh_err want)
{
    Ref<Signer> s;
    std::string why;
    pssh_err rc = Signer::make(k, nullptr, s, &why);
    cr_expect_eq(rc, want, "got %s (%s), want %s", pssh::error_name(rc), why.c_str(), pssh::error_name(want));
    cr_expect(!s, "a signer was made");
    return why;
}

// The blob of a .pub file.
std::string pub_blob(const std::string &pub_path)
{
    std::string line = unit::read_file(pub_path);
    size_t a = line.find(' '), b = line.find(' ', a + 1);
    return unit::unbase64(line.substr(a + 1, b - a - 1));
}

struct Kind {
    const char *type;
    int bits;
};
const Kind kKinds[] = {{"ed25519", 0}, {"ecdsa", 256}, {"ecdsa", 384}, {"ecdsa", 521}, {"rsa", 1024}};

} // namespace

Test(signer, offers_the_blob_of_its_pub_file)
{
    unit::TempDir dir;
    int i = 0;
    for (const Kind &kd : kKinds)
        for (const char *fmt : {"", "PEM", "PKCS8"}) {
            if (std::string(kd.type) == "ed25519" && *fmt)
                continue; // ssh-keygen writes ed25519 in its own format only
            const std::string path = keygen(dir, "k" + std::to_string(i++), kd.type, kd.bits, fmt);
            Ref<Signer> s = make_ok(key_from(unit::read_file(path), !*fmt));
            cr_expect(s->public_blob() == pub_blob(path + ".pub"), "%s %d %s: blob differs from the .pub file",
                      kd.type, kd.bits, fmt);
        }
}

// libssh2 1.10 takes the request's algorithm from the blob's first string
// and wraps the signature itself: the callback gives the bare PKCS#1 v1.5
// signature, which must verify with the named hash.
Test(signer, rsa_blob_per_algorithm_and_bare_signatures)
{
    if (pssh::libssh2_signs_rsa_sha2())
        cr_skip_test("libssh2 1.11 or later signs RSA itself");
    unit::TempDir dir;
    const std::string path = keygen(dir, "rsa", "rsa", 2048, "PEM");
    Ref<Signer> s = make_ok(key_from(unit::read_file(path), false));
    cr_assert(s->is_rsa());
    const std::string own = pub_blob(path + ".pub"); // string "ssh-rsa", e, n
    const std::string fields = own.substr(4 + 7);
    struct Alg {
        Signer::Alg alg;
        const char *name;
        const EVP_MD *md;
    } algs[] = {{Signer::Alg::RsaSha512, "rsa-sha2-512", EVP_sha512()},
                {Signer::Alg::RsaSha256, "rsa-sha2-256", EVP_sha256()},
                {Signer::Alg::RsaSha1, "ssh-rsa", EVP_sha1()}};
    // The key, for checking signatures with OpenSSL.
    std::string text = unit::read_file(path);
    BIO *bio = BIO_new_mem_buf(text.data(), int(text.size()));
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    cr_assert_not_null(pk);
    const unsigned char data[] = "session id || userauth request";
    for (const Alg &a : algs) {
        EXPECT_STR_EQ(s->public_blob(a.alg), unit::ssh_string(a.name) + fields);
        std::string sig;
        cr_assert(s->sign(a.alg, data, sizeof data, sig), "%s", a.name);
        cr_expect_eq(sig.size(), 256u, "%s: %zu bytes: wrapped?", a.name, sig.size());
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        cr_expect(EVP_DigestVerifyInit(ctx, nullptr, a.md, nullptr, pk) == 1 &&
                      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char *>(sig.data()), sig.size(), data,
                                       sizeof data) == 1,
                  "%s: the signature does not verify", a.name);
        EVP_MD_CTX_free(ctx);
    }
    EVP_PKEY_free(pk);
}

// An OpenSSH file whose clear header names another key than its private
// section: it offered one key and signed with the other.
Test(signer, openssh_header_must_match_the_private_key)
{
    unit::TempDir dir;
    int i = 0;
    for (const Kind &kd : kKinds) {
        auto a = unit::OpensshKey::parse(unit::read_file(keygen(dir, "a" + std::to_string(i), kd.type, kd.bits)));
        auto b = unit::OpensshKey::parse(unit::read_file(keygen(dir, "b" + std::to_string(i++), kd.type, kd.bits)));
        b.pub = a.pub;
        std::string why = make_fails(key_from(b.text(), true), PSSH_E_PKEY);
        cr_expect(why.find("not the public half of its private key") != std::string::npos, "%s %d: %s", kd.type,
                  kd.bits, why.c_str());
        // The type alone differing is caught as well.
        auto c = unit::OpensshKey::parse(unit::read_file(keygen(dir, "c" + std::to_string(i), "ed25519", 0)));
        c.pub = a.pub;
        if (c.type != a.type)
            make_fails(key_from(c.text(), true), PSSH_E_PKEY);
    }
}

// Header and public fields agree, but the secret belongs to another key:
// the probe signature does not verify.
Test(signer, private_secret_must_match_its_public_fields)
{
    unit::TempDir dir;
    int i = 0;
    for (const Kind &kd : kKinds) {
        auto a = unit::OpensshKey::parse(unit::read_file(keygen(dir, "a" + std::to_string(i), kd.type, kd.bits)));
        auto b = unit::OpensshKey::parse(unit::read_file(keygen(dir, "b" + std::to_string(i++), kd.type, kd.bits)));
        if (a.type == "ssh-ed25519")
            a.fields[1] = b.fields[1].substr(0, 32) + a.fields[0]; // b's seed, a's public key
        else if (a.type == "ssh-rsa")
            a.fields[2] = b.fields[2]; // b's d
        else
            a.fields[2] = b.fields[2]; // b's scalar
        cr_assert(a.pub_from_fields() == a.pub);
        std::string why = make_fails(key_from(a.text(), true), PSSH_E_PKEY);
        cr_expect(why.find("does not match its public key") != std::string::npos, "%s %d: %s", kd.type, kd.bits,
                  why.c_str());
    }
}

Test(signer, malformed_openssh_private_sections)
{
    unit::TempDir dir;
    auto ed = unit::OpensshKey::parse(unit::read_file(keygen(dir, "ed", "ed25519", 0)));
    auto bad = ed;
    bad.fields[1] = bad.fields[1].substr(0, 40); // short secret
    make_fails(key_from(bad.text(), true), PSSH_E_PKEY);
    auto ec = unit::OpensshKey::parse(unit::read_file(keygen(dir, "ec", "ecdsa", 256)));
    bad = ec;
    bad.fields[0] = "nistp384"; // curve name not the type's
    make_fails(key_from(bad.text(), true), PSSH_E_PKEY);
    bad = ec;
    bad.fields[2] = std::string(1, '\x80') + bad.fields[2]; // negative scalar
    make_fails(key_from(bad.text(), true), PSSH_E_PKEY);
}

// By group name, not size: these are 256 bits (or 384) too.
Test(signer, ec_curve_without_an_ssh_name)
{
    unit::TempDir dir;
    for (const char *curve : {"secp256k1", "brainpoolP256r1", "brainpoolP384r1"}) {
        const std::string path = dir.file(curve);
        if (unit::run({OPENSSL_CLI, "genpkey", "-algorithm", "EC", "-pkeyopt",
                       std::string("ec_paramgen_curve:") + curve, "-out", path})
                .status != 0)
            cr_skip_test("openssl genpkey %s failed", curve);
        std::string why = make_fails(key_from(unit::read_file(path), false), PSSH_E_KEY_ALGO);
        cr_expect(why.find(curve) != std::string::npos, "%s: %s", curve, why.c_str());
    }
}

// bcrypt-pbkdf is not in OpenSSL: libssh2 decrypts these keys itself.
Test(signer, encrypted_openssh_keys_are_left_to_libssh2)
{
    unit::TempDir dir;
    const std::string path = keygen(dir, "enc", "ed25519", 0, "", "pass");
    Ref<Signer> s;
    cr_expect_eq(Signer::make(key_from(unit::read_file(path), true, true), nullptr, s, nullptr), PSSH_OK);
    cr_expect(!s);
}
