// OpenSSH's hashed host names in known_hosts: "|1|" base64(salt) "|"
// base64(HMAC-SHA1(salt, name)), with a new 20-byte salt on every line.
//
// A lookup must compute one HMAC per hashed line, so the part that depends
// only on the line is done once, when the file is parsed: the salt and the
// hash are decoded, and the salt's HMAC key blocks (key ^ ipad, key ^ opad)
// are run through SHA-1. A lookup then costs two SHA-1 blocks per line
// (about 100 ns) instead of four plus OpenSSL's per-call setup.
#pragma once
#include <cstdint>
#include <string_view>

namespace pssh {

class HashedName {
public:
    // "|1|salt|hash" with a 20-byte salt and a 20-byte hash, as OpenSSH
    // writes and requires; false for anything else (it never matches).
    bool parse(std::string_view field);
    // name: the lookup name ("host" or "[host]:port", lowercase).
    bool matches(std::string_view name) const;

private:
    uint32_t inner_[5]{}, outer_[5]{}; // SHA-1 states after the key blocks
    unsigned char hash_[20]{};
};

} // namespace pssh
