#include "signer.hpp"
#include "wiping_alloc.hpp"

#include "signer_cache.hpp"
#include "wire.hpp"

#include <cstdlib>
#include <cstring>
#include <libssh2.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

namespace pssh {

namespace {

pssh_err fail(std::string *why, pssh_err code, std::string msg)
{
    if (why)
        *why = std::move(msg);
    return code;
}

const unsigned char *u8(std::string_view s) { return reinterpret_cast<const unsigned char *>(s.data()); }

// SSH type -> the curve's name in SSH and in OpenSSL.
struct Curve {
    const char *type, *ssh, *openssl;
};
constexpr Curve kCurves[] = {
    {"ecdsa-sha2-nistp256", "nistp256", "prime256v1"},
    {"ecdsa-sha2-nistp384", "nistp384", "secp384r1"},
    {"ecdsa-sha2-nistp521", "nistp521", "secp521r1"},
};

const Curve *curve_of(std::string_view type)
{
    for (const Curve &c : kCurves)
        if (type == c.type)
            return &c;
    return nullptr;
}

const EVP_MD *digest_of(Signer::Alg alg, std::string_view type)
{
    switch (alg) {
    case Signer::Alg::RsaSha512:
        return EVP_sha512();
    case Signer::Alg::RsaSha256:
        return EVP_sha256();
    case Signer::Alg::RsaSha1:
        return EVP_sha1();
    case Signer::Alg::Native:
        break;
    }
    if (type == "ecdsa-sha2-nistp256")
        return EVP_sha256();
    if (type == "ecdsa-sha2-nistp384")
        return EVP_sha384();
    if (type == "ecdsa-sha2-nistp521")
        return EVP_sha512();
    return nullptr; // ed25519: no separate digest
}

// An SSH mpint's magnitude (positive only; leading zeros dropped).
bool wire_mpint(std::string_view &p, std::string_view &out)
{
    if (!wire_string(p, out) || (!out.empty() && (uint8_t(out.front()) & 0x80)))
        return false;
    while (!out.empty() && out.front() == '\0')
        out.remove_prefix(1);
    return true;
}

std::string bn_bytes(const BIGNUM *bn)
{
    std::string b(size_t(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char *>(b.data()));
    return b;
}

// Private values go to secure memory, with constant-time arithmetic.
BIGNUM *bn_from(std::string_view be, bool secret)
{
    BIGNUM *bn = secret ? BN_secure_new() : BN_new();
    if (bn && !BN_bin2bn(u8(be), int(be.size()), bn)) {
        BN_clear_free(bn);
        return nullptr;
    }
    if (bn && secret)
        BN_set_flags(bn, BN_FLG_CONSTTIME);
    return bn;
}

// BIGNUMs freed (and cleared) together.
struct Bns {
    BIGNUM *v[8] = {};
    ~Bns()
    {
        for (BIGNUM *b : v)
            BN_clear_free(b);
    }
};

// The key the builder describes. Its parameter array holds copies of the
// private values: cleared before it is freed.
EVP_PKEY *from_params(const char *name, OSSL_PARAM_BLD *bld, bool priv)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(nullptr, name, nullptr) : nullptr;
    EVP_PKEY *pk = nullptr;
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &pk, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
    OSSL_PARAM_clear_free(params);
#else
    // OpenSSL 3.0 and 3.1 put the values of BN_secure_new() numbers (all our
    // private ones) in a block of their own, which this clears.
    OSSL_PARAM_free(params);
#endif
    return pk;
}

// An EC key on `group`; public only when d is empty.
EVP_PKEY *ec_key(const char *group, std::string_view q, std::string_view d)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    Bns b;
    BIGNUM *&priv = b.v[0];
    bool ok = bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
              OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q.data(), q.size());
    if (ok && !d.empty())
        ok = (priv = bn_from(d, true)) && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
    EVP_PKEY *pk = ok ? from_params("EC", bld, !d.empty()) : nullptr;
    OSSL_PARAM_BLD_free(bld);
    return pk;
}

struct RsaPrivate {
    std::string_view d, iqmp, p, q;
};

// An RSA key from n and e, with the private values when given (the CRT
// exponents are derived: OpenSSH files do not carry them).
EVP_PKEY *rsa_key(std::string_view n, std::string_view e, const RsaPrivate *priv)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    Bns b;
    BIGNUM *&N = b.v[0], *&E = b.v[1], *&D = b.v[2], *&P = b.v[3], *&Q = b.v[4], *&IQMP = b.v[5],
           *&DMP1 = b.v[6], *&DMQ1 = b.v[7];
    bool ok = bld && (N = bn_from(n, false)) && (E = bn_from(e, false)) &&
              OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, N) &&
              OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, E);
    if (ok && priv) {
        BN_CTX *ctx = BN_CTX_secure_new();
        BIGNUM *t = nullptr;
        if (ctx) {
            BN_CTX_start(ctx);
            t = BN_CTX_get(ctx);
        }
        ok = t && (D = bn_from(priv->d, true)) && (P = bn_from(priv->p, true)) && (Q = bn_from(priv->q, true)) &&
             (IQMP = bn_from(priv->iqmp, true)) && (DMP1 = BN_secure_new()) && (DMQ1 = BN_secure_new()) &&
             BN_sub(t, P, BN_value_one()) && BN_mod(DMP1, D, t, ctx) && BN_sub(t, Q, BN_value_one()) &&
             BN_mod(DMQ1, D, t, ctx) && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, D) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, P) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, Q) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, DMP1) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, DMQ1) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, IQMP);
        if (ctx) {
            BN_CTX_end(ctx);
            BN_CTX_free(ctx); // clears what it lent
        }
    }
    EVP_PKEY *pk = ok ? from_params("RSA", bld, priv != nullptr) : nullptr;
    OSSL_PARAM_BLD_free(bld);
    return pk;
}

// The public key a blob describes, to check a private key against.
EVP_PKEY *public_from_blob(std::string_view p)
{
    std::string_view type;
    if (!wire_string(p, type))
        return nullptr;
    if (type == "ssh-ed25519") {
        std::string_view pk;
        if (!wire_string(p, pk) || pk.size() != 32)
            return nullptr;
        return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, u8(pk), pk.size());
    }
    if (const Curve *c = curve_of(type)) {
        std::string_view name, q;
        if (!wire_string(p, name) || name != c->ssh || !wire_string(p, q))
            return nullptr;
        return ec_key(c->openssl, q, {});
    }
    if (type == "ssh-rsa") {
        std::string_view e, n;
        if (!wire_mpint(p, e) || !wire_mpint(p, n))
            return nullptr;
        return rsa_key(n, e, nullptr);
    }
    return nullptr;
}

// What a key file gave: the key (owned by the caller), its type and the
// public blob to offer. pk stays null for a key libssh2 must sign.
struct Parsed {
    EVP_PKEY *pk = nullptr;
    std::string type, pub;
};

std::string mismatch(const std::string &origin)
{
    return origin + ": the public key in the file's header is not the public half of its private key "
                    "(ssh-keygen -y refuses such a file)";
}

// The private section of an unencrypted openssh-key-v1 file, after its
// check numbers: the key's own public fields come first. The public blob is
// rebuilt from them and must equal the clear header, as `ssh-keygen -y`
// requires.
pssh_err from_openssh_private(const std::string &origin, std::string_view header, std::string_view priv,
                              Parsed &out, std::string *why)
{
    std::string_view t, header_type, h = header;
    if (!wire_string(priv, t) || !wire_string(h, header_type))
        return fail(why, PSSH_E_PKEY, origin + ": truncated OpenSSH private key");
    if (t != header_type)
        return fail(why, PSSH_E_PKEY, mismatch(origin));
    std::string pub;
    put_string(pub, t);
    bool ok = false, signs = true;
    EVP_PKEY *pk = nullptr;
    if (t == "ssh-ed25519") {
        // The seed, then the public key again.
        std::string_view a, sk;
        ok = wire_string(priv, a) && a.size() == 32 && wire_string(priv, sk) && sk.size() == 64 &&
             sk.substr(32) == a;
        put_string(pub, a);
        if (ok)
            pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, u8(sk), 32);
    } else if (const Curve *c = curve_of(t)) {
        std::string_view name, q, d;
        ok = wire_string(priv, name) && name == c->ssh && wire_string(priv, q) && wire_mpint(priv, d) && !d.empty();
        put_string(pub, name);
        put_string(pub, q);
        if (ok)
            pk = ec_key(c->openssl, q, d);
    } else if (t == "ssh-rsa") {
        std::string_view n, e;
        RsaPrivate r;
        ok = wire_mpint(priv, n) && wire_mpint(priv, e) && wire_mpint(priv, r.d) && wire_mpint(priv, r.iqmp) &&
             wire_mpint(priv, r.p) && wire_mpint(priv, r.q) && !n.empty() && !e.empty() && !r.d.empty() &&
             !r.p.empty() && !r.q.empty();
        put_mpint(pub, e);
        put_mpint(pub, n);
        if (ok)
            pk = rsa_key(n, e, &r);
    } else if (t == "ssh-dss") {
        // libssh2 signs DSA; the public fields are still checked.
        std::string_view f;
        ok = true;
        for (int i = 0; i < 4 && ok; i++)
            if ((ok = wire_string(priv, f)))
                put_string(pub, f);
        signs = false;
    } else {
        return PSSH_OK; // a type we do not know: libssh2 decides
    }
    if (!ok)
        return fail(why, PSSH_E_PKEY, origin + ": malformed " + std::string(t) + " private key");
    if (pub != header) {
        EVP_PKEY_free(pk);
        return fail(why, PSSH_E_PKEY, mismatch(origin));
    }
    if (signs && !pk)
        return fail(why, PSSH_E_PKEY, origin + ": unusable " + std::string(t) + " private key");
    out.pk = pk;
    out.type = std::string(t);
    out.pub = std::move(pub);
    return PSSH_OK;
}

// openssh-key-v1, unencrypted (the caller leaves encrypted ones to libssh2).
pssh_err from_openssh(const PrivateKey &k, Parsed &out, std::string *why)
{
    static constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    static constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----";
    std::string_view text(k.data.value);
    auto b = text.find(kBegin), e = text.find(kEnd);
    Secret raw; // the decoded container: the private section is in clear
    if (b == std::string_view::npos || e == std::string_view::npos || e < b ||
        !base64_decode(text.substr(b + kBegin.size(), e - b - kBegin.size()), raw.value))
        return fail(why, PSSH_E_PKEY, k.origin + ": unreadable OpenSSH private key");
    std::string_view p(raw.value), cipher, kdf, opts, header, priv;
    uint32_t nkeys, c1, c2;
    if (p.size() < 15 || memcmp(p.data(), "openssh-key-v1", 15) != 0)
        return fail(why, PSSH_E_PKEY, k.origin + ": not an openssh-key-v1 private key");
    p.remove_prefix(15);
    if (!wire_string(p, cipher) || !wire_string(p, kdf) || !wire_string(p, opts) || !wire_u32(p, nkeys) ||
        nkeys != 1 || !wire_string(p, header) || !wire_string(p, priv))
        return fail(why, PSSH_E_PKEY, k.origin + ": truncated OpenSSH private key");
    if (cipher != "none")
        return PSSH_OK;
    if (!wire_u32(priv, c1) || !wire_u32(priv, c2) || c1 != c2)
        return fail(why, PSSH_E_PKEY, k.origin + ": corrupt OpenSSH private key (check numbers differ)");
    return from_openssh_private(k.origin, header, priv, out, why);
}

// PEM keys (PKCS#1, SEC1, PKCS#8) through OpenSSL; the public blob is built
// from the key.
pssh_err from_pem(const PrivateKey &k, const Secret *pass, Parsed &out, std::string *why)
{
    std::string_view text(k.data.value);
    BIO *bio = BIO_new_mem_buf(text.data(), int(text.size()));
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, nullptr, secret_pass_cb, const_cast<Secret *>(pass)) : nullptr;
    BIO_free(bio);
    if (!pk)
        return fail(why, PSSH_E_PKEY, k.origin + ": unreadable PEM private key");
    std::string pub;
    bool ok = false;
    switch (EVP_PKEY_base_id(pk)) {
    case EVP_PKEY_ED25519: {
        unsigned char raw[32];
        size_t n = sizeof raw;
        out.type = "ssh-ed25519";
        put_string(pub, out.type);
        if ((ok = EVP_PKEY_get_raw_public_key(pk, raw, &n) == 1 && n == 32))
            put_string(pub, std::string_view(reinterpret_cast<char *>(raw), n));
        break;
    }
    case EVP_PKEY_EC: {
        std::string group;
        const char *curve = ssh_curve_of(pk, &group);
        if (!curve) {
            EVP_PKEY_free(pk);
            return fail(why, PSSH_E_KEY_ALGO,
                        k.origin + ": EC key on curve " + group +
                            ", which SSH does not support (only nistp256, nistp384 and nistp521)");
        }
        unsigned char q[256];
        size_t n = 0;
        out.type = std::string("ecdsa-sha2-") + curve;
        put_string(pub, out.type);
        put_string(pub, curve);
        if ((ok = EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, q, sizeof q, &n) == 1))
            put_string(pub, std::string_view(reinterpret_cast<char *>(q), n));
        break;
    }
    case EVP_PKEY_RSA: {
        BIGNUM *n = nullptr, *e = nullptr;
        out.type = "ssh-rsa";
        put_string(pub, out.type);
        if ((ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
                  EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) == 1)) {
            put_mpint(pub, bn_bytes(e));
            put_mpint(pub, bn_bytes(n));
        }
        BN_free(n);
        BN_free(e);
        break;
    }
    default: // DSA: libssh2 signs it
        EVP_PKEY_free(pk);
        return PSSH_OK;
    }
    if (!ok) {
        EVP_PKEY_free(pk);
        return fail(why, PSSH_E_PKEY, k.origin + ": unusable " + out.type + " private key");
    }
    out.pk = pk;
    out.pub = std::move(pub);
    return PSSH_OK;
}

} // namespace

bool libssh2_signs_rsa_sha2() noexcept { return libssh2_version(0x010b00) != nullptr; }

pssh_err Signer::make(const PrivateKey &key, const Secret *passphrase, Ref<Signer> &out, std::string *why)
{
    out.reset();
    if (key.openssh_format && key.encrypted) // bcrypt-pbkdf: left to libssh2
        return PSSH_OK;
    Parsed p;
    pssh_err rc = key.openssh_format ? from_openssh(key, p, why) : from_pem(key, passphrase, p, why);
    if (rc != PSSH_OK || !p.pk)
        return rc;
    auto s = Ref<Signer>::adopt(new Signer());
    s->pkey_ = p.pk;
    s->type_ = std::move(p.type);
    s->pub_ = std::move(p.pub);
    s->rsa_ = key_type_is_rsa(s->type_);
    if ((rc = s->self_test(key.origin, why)) != PSSH_OK)
        return rc;
    if (s->rsa_ && libssh2_signs_rsa_sha2()) // checked, then left to libssh2
        return PSSH_OK;
    out = std::move(s);
    return PSSH_OK;
}

Signer::~Signer()
{
    EVP_PKEY_free(pkey_); // OpenSSL clears the private values
    if (cache_)
        cache_->forget(cache_id_, this);
}

const char *Signer::alg_name(Alg alg) noexcept
{
    switch (alg) {
    case Alg::RsaSha512:
        return "rsa-sha2-512";
    case Alg::RsaSha256:
        return "rsa-sha2-256";
    case Alg::RsaSha1:
        return "ssh-rsa";
    case Alg::Native:
        break;
    }
    return "native";
}

std::string Signer::public_blob(Alg alg) const
{
    if (!rsa_ || alg == Alg::Native)
        return pub_;
    std::string_view rest(pub_), type;
    wire_string(rest, type);
    std::string b;
    put_string(b, alg_name(alg));
    b.append(rest);
    return b;
}

// Proves the key signs for the public blob we will offer: a file whose
// halves do not belong together fails here, before any server sees it.
pssh_err Signer::self_test(const std::string &origin, std::string *why) const
{
    static const unsigned char kProbe[] = "libpssh key check";
    const Alg alg = rsa_ ? Alg::RsaSha512 : Alg::Native;
    std::string sig, ssh_sig;
    if (!raw_sign(alg, kProbe, sizeof kProbe, sig) || !sign(alg, kProbe, sizeof kProbe, ssh_sig))
        return fail(why, PSSH_E_PKEY, origin + ": the " + type_ + " private key cannot sign (malformed?)");
    EVP_PKEY *pub = public_from_blob(pub_);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = pub && ctx && EVP_DigestVerifyInit(ctx, nullptr, digest_of(alg, type_), nullptr, pub) == 1 &&
              EVP_DigestVerify(ctx, u8(sig), sig.size(), kProbe, sizeof kProbe) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);
    if (!ok)
        return fail(why, PSSH_E_PKEY,
                    origin + ": the private key does not match its public key (it would offer one key and "
                             "sign with another)");
    return PSSH_OK;
}

bool Signer::raw_sign(Alg alg, const unsigned char *data, size_t len, std::string &out) const
{
    if (rsa_ == (alg == Alg::Native))
        return false; // RSA needs a named hash; the others have their own
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 0;
    bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, digest_of(alg, type_), nullptr, pkey_) == 1 &&
              EVP_DigestSign(ctx, nullptr, &n, data, len) == 1;
    out.assign(n, '\0');
    ok = ok && EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(out.data()), &n, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    out.resize(ok ? n : 0);
    return ok;
}

bool Signer::sign(Alg alg, const unsigned char *data, size_t len, std::string &out) const
{
    std::string sig;
    out.clear();
    if (!raw_sign(alg, data, len, sig))
        return false;
    if (!digest_of(alg, type_) || rsa_) { // ed25519: 64 bytes; RSA: libssh2 1.10 wraps it
        out = std::move(sig);
        return true;
    }
    // ECDSA: DER (r, s) becomes SSH's mpint r, mpint s.
    const unsigned char *p = u8(sig);
    ECDSA_SIG *es = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
    if (!es)
        return false;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    put_mpint(out, bn_bytes(r));
    put_mpint(out, bn_bytes(s));
    ECDSA_SIG_free(es);
    return true;
}

int Signer::sign_cb(_LIBSSH2_SESSION *, unsigned char **sig, size_t *sig_len, const unsigned char *data,
                    size_t data_len, void **abstract)
{
    const Job *job = static_cast<const Job *>(*abstract);
    std::string out;
    if (!job || !job->signer || !job->signer->sign(job->alg, data, data_len, out))
        return -1;
    // libssh2 frees it with the session's free hook: allocated to match.
    *sig = static_cast<unsigned char *>(wiping_alloc(out.size(), nullptr));
    if (!*sig)
        return -1;
    memcpy(*sig, out.data(), out.size());
    *sig_len = out.size();
    return 0;
}

} // namespace pssh
