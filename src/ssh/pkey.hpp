// Private keys, read and sniffed by us before libssh2 sees them: libssh2's
// own errors cannot tell a missing file from a wrong passphrase or EMFILE
// (all -16), so each of those gets its own class here.
#pragma once
#include "config.hpp"
#include "pssh/pssh.h"

#include <string>

struct evp_pkey_st;

namespace pssh {

struct PrivateKey {
    std::string origin;     // file path, or "key in memory"
    Secret data;            // the file's bytes
    std::string type;       // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ... or "unknown"
    bool encrypted = false;
    bool openssh_format = false;
};

// Reads a key file. PSSH_E_PKEY (missing, unreadable, not a regular file,
// not a private key), PSSH_E_RESOURCE (out of descriptors),
// PSSH_E_PASSPHRASE (a PEM key whose passphrase is missing or wrong:
// checked here, OpenSSL can decrypt PEM), PSSH_E_KEY_ALGO (an EC key on a
// curve SSH has no name for). Never blocks: a FIFO is refused unopened.
pssh_err load_private_key_file(const std::string &path, const Secret *passphrase, PrivateKey &out,
                               std::string *why);
// The same checks on a key already in memory.
pssh_err sniff_private_key(PrivateKey &key, const Secret *passphrase, std::string *why);

bool key_type_is_rsa(const std::string &type);

// The SSH name of an EC key's curve ("nistp256", "nistp384", "nistp521"),
// or nullptr for a curve SSH has no name for; *group gets OpenSSL's name of
// the curve ("secp256k1"), or "explicit parameters" when it has none.
const char *ssh_curve_of(evp_pkey_st *pk, std::string *group);

} // namespace pssh
