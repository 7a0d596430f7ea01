// A private key parsed once and kept, signing libssh2's public-key
// authentication through its sign callback. libssh2's own _frommemory path
// re-parses the key (through OpenSSL's PEM decoders first) twice per
// authentication: 10 M instructions per host, more than the handshake.
//
// RSA on libssh2 1.10: libssh2 takes the request's algorithm name from the
// first string of the blob it is given, and wraps what the callback returns
// as string(algorithm) || string(signature). So a blob
// string("rsa-sha2-512") || mpint(e) || mpint(n) with a raw PKCS#1 v1.5
// SHA-512 signature is an rsa-sha2-512 request, which OpenSSH maps back to
// the RSA key. libssh2 1.11 negotiates rsa-sha2 itself: there, RSA keys are
// left to it.
//
// Keys we cannot parse ourselves (encrypted OpenSSH format: bcrypt-pbkdf,
// which OpenSSL lacks; DSA) are left to libssh2: for them make() gives no
// Signer.
#pragma once
#include "../util/ref.hpp"
#include "pkey.hpp"

#include <string>
#include <string_view>

struct evp_pkey_st;
struct _LIBSSH2_SESSION;

namespace pssh {

class SignerCache;

// libssh2 1.11 and later sign RSA with SHA-2 themselves (checked at run
// time: the library loaded may be newer than the headers).
bool libssh2_signs_rsa_sha2() noexcept;

class Signer final : public RefCounted {
public:
    // Native: the key's own algorithm (ed25519, ECDSA). The others are RSA's.
    enum class Alg { Native, RsaSha512, RsaSha256, RsaSha1 };

    // PSSH_OK with `out` set, or with nothing when libssh2 must handle the
    // key. PSSH_E_PKEY: malformed, or its public half (the OpenSSH file's
    // clear header, or the one a PEM file carries) is not the public half of
    // its private key: the key would offer one key and sign with another.
    // PSSH_E_KEY_ALGO: an EC curve SSH has no name for.
    static pssh_err make(const PrivateKey &key, const Secret *passphrase, Ref<Signer> &out, std::string *why);

    bool is_rsa() const noexcept { return rsa_; }
    // The SSH public key blob (string type, key fields) with the key's own
    // type, or for RSA with `alg`'s name as its first string.
    std::string public_blob(Alg alg = Alg::Native) const;
    static const char *alg_name(Alg alg) noexcept;

    // What libssh2's sign callback signs with: *abstract points at a Job.
    struct Job {
        const Signer *signer = nullptr;
        Alg alg = Alg::Native;
    };
    static int sign_cb(_LIBSSH2_SESSION *s, unsigned char **sig, size_t *sig_len, const unsigned char *data,
                       size_t data_len, void **abstract);
    // The signature blob libssh2 wraps (ed25519: 64 bytes; ECDSA: mpint r,
    // mpint s; RSA: the raw PKCS#1 v1.5 signature).
    bool sign(Alg alg, const unsigned char *data, size_t len, std::string &out) const;

private:
    friend class SignerCache;
    Signer() = default;
    ~Signer() override;
    bool raw_sign(Alg alg, const unsigned char *data, size_t len, std::string &out) const;
    pssh_err self_test(const std::string &origin, std::string *why) const;

    evp_pkey_st *pkey_ = nullptr;
    std::string type_; // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"
    std::string pub_;  // the key's own public blob
    bool rsa_ = false;
    Ref<SignerCache> cache_; // told when this key goes
    std::string cache_id_;
};

} // namespace pssh
