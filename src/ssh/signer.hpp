// A private key parsed once and kept, signing libssh2's public-key
// authentication through its sign callback. libssh2's own _frommemory path
// re-parses the key (through OpenSSL's PEM decoders first) twice per
// authentication: 10 M instructions per host, more than the handshake.
// Keys we cannot parse ourselves (encrypted OpenSSH format, RSA) are left to
// libssh2: for them make() returns nothing.
#pragma once
#include "../util/ref.hpp"
#include "pkey.hpp"

#include <string>

struct evp_pkey_st;
struct _LIBSSH2_SESSION;

namespace pssh {

class Signer final : public RefCounted {
public:
    static Ref<Signer> make(const PrivateKey &key, const Secret *passphrase);

    // The SSH public key blob (string type, key fields) to offer.
    const std::string &public_blob() const noexcept { return pub_; }
    // libssh2's sign callback; *abstract points at the Signer pointer.
    static int sign_cb(_LIBSSH2_SESSION *s, unsigned char **sig, size_t *sig_len, const unsigned char *data,
                       size_t data_len, void **abstract);

private:
    Signer() = default;
    ~Signer() override;
    bool sign(const unsigned char *data, size_t len, std::string &out) const;

    evp_pkey_st *pkey_ = nullptr;
    std::string type_; // "ssh-ed25519", "ecdsa-sha2-nistp256"...
    std::string pub_;
};

} // namespace pssh
