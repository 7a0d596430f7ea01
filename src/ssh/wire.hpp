// Small codecs the SSH key and known_hosts code share: base64, SSH wire
// strings, and the OpenSSL passphrase callback.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace pssh {

struct Secret;

// Base64 as in PEM bodies and known_hosts, strictly (RFC 4648 section 3.5):
// whitespace anywhere is skipped; '=' only to pad the last quartet, at most
// two; the unused bits of the last character zero; empty input refused.
// Decodes straight into `out` (no other copy: key bodies are secrets); on
// failure `out` is wiped and empty.
bool base64_decode(std::string_view in, std::string &out);
std::string base64_encode(std::string_view in);

// SSH wire format: uint32 big-endian, and string = uint32 length + bytes.
bool wire_u32(std::string_view &p, uint32_t &v);
bool wire_string(std::string_view &p, std::string_view &out);
void put_u32(std::string &out, uint32_t v);
void put_string(std::string &out, std::string_view s);
// SSH mpint from unsigned big-endian bytes: no leading zeros, one 0x00 when
// the top bit is set.
void put_mpint(std::string &out, std::string_view unsigned_be);

// Overwrites every byte a string owns (its whole capacity), then empties
// it. For buffers that held key material.
void wipe_string(std::string &s) noexcept;

// pem_password_cb reading a Secret (userdata); no passphrase -> -1.
int secret_pass_cb(char *buf, int size, int rwflag, void *secret);

} // namespace pssh
