// Building known_hosts text for tests: key blobs, lines, hashed names.
#pragma once
#include "ssh/known_hosts.hpp"
#include "support.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string>

namespace unit {

// A plausible ed25519 public key blob whose 32 key bytes all derive from seed,
// so two seeds give two different keys of the same type.
inline std::string ed25519_blob(unsigned char seed)
{
    std::string b("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
    for (int i = 0; i < 32; i++)
        b += char(seed * 31 + i * 7);
    return b;
}

inline std::string ecdsa_blob(unsigned char seed)
{
    std::string b("\0\0\0\x13" "ecdsa-sha2-nistp256" "\0\0\0\x08" "nistp256" "\0\0\0\x41\x04", 40);
    for (int i = 0; i < 64; i++)
        b += char(seed * 13 + i);
    return b;
}

inline std::string kh_line(const std::string &hosts, const std::string &type, const std::string &blob)
{
    return hosts + " " + type + " " + base64(blob);
}

// OpenSSH's hashed host name: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
inline std::string hashed_name(const std::string &name, const std::string &salt)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha1(), salt.data(), int(salt.size()), reinterpret_cast<const unsigned char *>(name.data()),
         name.size(), mac, &len);
    return "|1|" + base64(salt) + "|" + base64(std::string(reinterpret_cast<char *>(mac), len));
}

inline const char *status_name(pssh::HostKeyStatus s)
{
    switch (s) {
    case pssh::HostKeyStatus::Match:
        return "Match";
    case pssh::HostKeyStatus::Mismatch:
        return "Mismatch";
    case pssh::HostKeyStatus::OtherType:
        return "OtherType";
    case pssh::HostKeyStatus::NotFound:
        return "NotFound";
    case pssh::HostKeyStatus::Revoked:
        return "Revoked";
    }
    return "?";
}

} // namespace unit

#define EXPECT_VERDICT(verdict, want_status, want_line)                                           \
    do {                                                                                          \
        const pssh::HostKeyVerdict unit_v_ = (verdict);                                           \
        cr_expect(unit_v_.status == (want_status) && unit_v_.line == (want_line),                 \
                  "%s: got %s line %d, want %s line %d", #verdict,                                \
                  unit::status_name(unit_v_.status), unit_v_.line,                                \
                  unit::status_name(want_status), int(want_line));                                \
    } while (0)
