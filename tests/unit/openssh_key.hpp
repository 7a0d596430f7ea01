// OpenSSH private key files (openssh-key-v1, unencrypted) taken apart and
// put together again, to make the malformed ones the tests need, and to
// find a key's secret bytes. Written here, not with the library's codecs,
// so that tests do not check the library against itself.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace unit {

struct OpensshKey {
    std::string head; // magic .. key count, as in the file
    std::string pub;  // the clear public key blob
    uint32_t check = 0;
    std::string type;
    std::vector<std::string> fields; // the private fields, as stored (mpints with their sign byte)
    std::string comment;

    // Asserts that text is an unencrypted key of a known type.
    static OpensshKey parse(const std::string &text);
    // The file again (padding recomputed).
    std::string text() const;
    // The public blob its private fields describe (what the header must be).
    std::string pub_from_fields() const;
};

std::string ssh_string(const std::string &s);
// A PEM body's bytes (whitespace skipped).
std::string pem_bytes(const std::string &text);

} // namespace unit
