// Private keys, read and sniffed by us before libssh2 sees them: libssh2's
// own errors cannot tell a missing file from a wrong passphrase or EMFILE
// (all -16), so each of those gets its own class here.
#pragma once
#include "config.hpp"
#include "pssh/pssh.h"

#include <string>

namespace pssh {

struct PrivateKey {
    std::string origin;     // file path, or "key in memory"
    Secret data;            // the file's bytes
    std::string type;       // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ... or "unknown"
    bool encrypted = false;
    bool openssh_format = false;
};

// Reads a key file. PSSH_E_PKEY (missing, unreadable, not a private key),
// PSSH_E_RESOURCE (out of descriptors), PSSH_E_PASSPHRASE (a PEM key whose
// passphrase is missing or wrong: checked here, OpenSSL can decrypt PEM).
pssh_err load_private_key_file(const std::string &path, const Secret *passphrase, PrivateKey &out,
                               std::string *why);
// The same checks on a key already in memory.
pssh_err sniff_private_key(PrivateKey &key, const Secret *passphrase, std::string *why);

// True for key types libssh2 1.10 signs with SHA-1 only (refused by OpenSSH
// 8.8 and later).
bool key_type_is_rsa(const std::string &type);

} // namespace pssh
