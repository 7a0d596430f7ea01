#include "signer.hpp"

#include "wire.hpp"

#include <cstdlib>
#include <cstring>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <string_view>

namespace pssh {

namespace {

// SSH mpint from unsigned big-endian bytes: no leading zeros, one 0x00 when
// the top bit is set.
void put_mpint(std::string &out, const unsigned char *p, size_t n)
{
    while (n > 0 && *p == 0) {
        p++;
        n--;
    }
    bool pad = n > 0 && (*p & 0x80);
    put_u32(out, uint32_t(n + pad));
    if (pad)
        out.push_back('\0');
    out.append(reinterpret_cast<const char *>(p), n);
}

const char *curve_of(std::string_view type)
{
    if (type == "ecdsa-sha2-nistp256")
        return "prime256v1";
    if (type == "ecdsa-sha2-nistp384")
        return "secp384r1";
    if (type == "ecdsa-sha2-nistp521")
        return "secp521r1";
    return nullptr;
}

const EVP_MD *digest_of(std::string_view type)
{
    if (type == "ecdsa-sha2-nistp256")
        return EVP_sha256();
    if (type == "ecdsa-sha2-nistp384")
        return EVP_sha384();
    if (type == "ecdsa-sha2-nistp521")
        return EVP_sha512();
    return nullptr; // ed25519: no separate digest
}

EVP_PKEY *ec_from(const char *curve, std::string_view q, std::string_view d)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *priv = BN_bin2bn(reinterpret_cast<const unsigned char *>(d.data()), int(d.size()), nullptr);
    OSSL_PARAM *params = nullptr;
    EVP_PKEY_CTX *ctx = nullptr;
    EVP_PKEY *pk = nullptr;
    if (bld && priv && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q.data(), q.size()) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) && (params = OSSL_PARAM_BLD_to_param(bld)) &&
        (ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)) && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    BN_clear_free(priv);
    OSSL_PARAM_BLD_free(bld);
    return pk;
}

// openssh-key-v1, unencrypted: the public blob from the header and the key
// from the private section.
EVP_PKEY *from_openssh(std::string_view text, std::string &type, std::string &pub)
{
    static constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    static constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----";
    auto b = text.find(kBegin), e = text.find(kEnd);
    if (b == std::string_view::npos || e == std::string_view::npos || e < b)
        return nullptr;
    std::string raw;
    if (!base64_decode(text.substr(b + kBegin.size(), e - b - kBegin.size()), raw))
        return nullptr;
    std::string_view p(raw), cipher, kdf, opts, pubblob, priv, t;
    uint32_t nkeys, c1, c2;
    if (p.size() < 15 || memcmp(p.data(), "openssh-key-v1", 15) != 0)
        return nullptr;
    p.remove_prefix(15);
    if (!wire_string(p, cipher) || cipher != "none" || !wire_string(p, kdf) || !wire_string(p, opts) ||
        !wire_u32(p, nkeys) || nkeys != 1 || !wire_string(p, pubblob) || !wire_string(p, priv))
        return nullptr;
    if (!wire_u32(priv, c1) || !wire_u32(priv, c2) || c1 != c2 || !wire_string(priv, t))
        return nullptr;
    type = std::string(t);
    pub = std::string(pubblob);
    if (t == "ssh-ed25519") {
        std::string_view pk32, sk64;
        if (!wire_string(priv, pk32) || !wire_string(priv, sk64) || sk64.size() != 64)
            return nullptr;
        return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                            reinterpret_cast<const unsigned char *>(sk64.data()), 32);
    }
    if (const char *curve = curve_of(t)) {
        std::string_view name, q, d;
        if (!wire_string(priv, name) || !wire_string(priv, q) || !wire_string(priv, d))
            return nullptr;
        return ec_from(curve, q, d);
    }
    return nullptr;
}

// PEM keys through OpenSSL; the public blob is built from the key.
EVP_PKEY *from_pem(std::string_view text, const Secret *pass, std::string &type, std::string &pub)
{
    BIO *bio = BIO_new_mem_buf(text.data(), int(text.size()));
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, nullptr, secret_pass_cb, const_cast<Secret *>(pass)) : nullptr;
    BIO_free(bio);
    if (!pk)
        return nullptr;
    pub.clear();
    if (EVP_PKEY_base_id(pk) == EVP_PKEY_ED25519) {
        unsigned char raw[32];
        size_t n = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(pk, raw, &n) == 1 && n == 32) {
            type = "ssh-ed25519";
            put_string(pub, type);
            put_string(pub, std::string_view(reinterpret_cast<char *>(raw), n));
            return pk;
        }
    } else if (EVP_PKEY_base_id(pk) == EVP_PKEY_EC) {
        const char *names[][2] = {{"ecdsa-sha2-nistp256", "nistp256"},
                                  {"ecdsa-sha2-nistp384", "nistp384"},
                                  {"ecdsa-sha2-nistp521", "nistp521"}};
        int bits = EVP_PKEY_bits(pk);
        int i = bits == 256 ? 0 : bits == 384 ? 1 : bits == 521 ? 2 : -1;
        unsigned char q[256];
        size_t n = 0;
        if (i >= 0 && EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, q, sizeof q, &n) == 1) {
            type = names[i][0];
            put_string(pub, type);
            put_string(pub, names[i][1]);
            put_string(pub, std::string_view(reinterpret_cast<char *>(q), n));
            return pk;
        }
    }
    EVP_PKEY_free(pk);
    return nullptr;
}

} // namespace

Ref<Signer> Signer::make(const PrivateKey &key, const Secret *passphrase)
{
    std::string_view text(key.data.value);
    auto s = Ref<Signer>::adopt(new Signer());
    if (key.openssh_format) {
        if (key.encrypted) // bcrypt-pbkdf: left to libssh2
            return {};
        s->pkey_ = from_openssh(text, s->type_, s->pub_);
    } else {
        s->pkey_ = from_pem(text, passphrase, s->type_, s->pub_);
    }
    if (!s->pkey_)
        return {};
    // Prove the key signs before offering it (a malformed key fails here,
    // and then libssh2 gets to report on it).
    std::string probe;
    static const unsigned char kProbe[] = "libpssh";
    if (!s->sign(kProbe, sizeof kProbe, probe))
        return {};
    return s;
}

Signer::~Signer() { EVP_PKEY_free(pkey_); }

bool Signer::sign(const unsigned char *data, size_t len, std::string &out) const
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = digest_of(type_);
    size_t n = 0;
    bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey_) == 1 &&
              EVP_DigestSign(ctx, nullptr, &n, data, len) == 1;
    std::string sig(n, '\0');
    ok = ok && EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(sig.data()), &n, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return false;
    sig.resize(n);
    out.clear();
    if (!md) { // ed25519: the 64 bytes as they are
        out = std::move(sig);
        return true;
    }
    // ECDSA: DER (r, s) becomes SSH's mpint r, mpint s.
    const unsigned char *p = reinterpret_cast<const unsigned char *>(sig.data());
    ECDSA_SIG *es = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
    if (!es)
        return false;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    for (const BIGNUM *bn : {r, s}) {
        std::string b(size_t(BN_num_bytes(bn)), '\0');
        BN_bn2bin(bn, reinterpret_cast<unsigned char *>(b.data()));
        put_mpint(out, reinterpret_cast<const unsigned char *>(b.data()), b.size());
    }
    ECDSA_SIG_free(es);
    return true;
}

int Signer::sign_cb(_LIBSSH2_SESSION *, unsigned char **sig, size_t *sig_len, const unsigned char *data,
                    size_t data_len, void **abstract)
{
    const Signer *self = *reinterpret_cast<Signer **>(abstract);
    std::string out;
    if (!self->sign(data, data_len, out))
        return -1;
    // libssh2 frees it with the session's free(), which is free().
    *sig = static_cast<unsigned char *>(malloc(out.size()));
    if (!*sig)
        return -1;
    memcpy(*sig, out.data(), out.size());
    *sig_len = out.size();
    return 0;
}

} // namespace pssh
