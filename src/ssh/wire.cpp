#include "wire.hpp"

#include "config.hpp"

#include <cctype>
#include <cstring>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace pssh {

namespace {

// 0-63 for the alphabet, kPad for '=', kSkip for whitespace, kBad otherwise.
constexpr int8_t kBad = -1, kPad = -2, kSkip = -3;

int8_t b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return int8_t(c - 'A');
    if (c >= 'a' && c <= 'z')
        return int8_t(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return int8_t(c - '0' + 52);
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    if (c == '=')
        return kPad;
    return isspace(c) ? kSkip : kBad;
}

} // namespace

void wipe_string(std::string &s) noexcept
{
    // Growing to the capacity never reallocates, and makes the bytes past
    // the end (left by an earlier, longer value) ours to overwrite.
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

bool base64_decode(std::string_view in, std::string &out)
{
    wipe_string(out);
    // First pass: the characters are valid, and '=' comes only at the end,
    // completing the last quartet.
    size_t n = 0, pads = 0;
    for (unsigned char c : in) {
        int8_t v = b64_value(c);
        if (v == kSkip)
            continue;
        if (v == kBad || (v >= 0 && pads))
            return false;
        (v == kPad ? pads : n)++;
    }
    if (n == 0 || pads > 2 || (n + pads) % 4 != 0)
        return false;
    // Second pass: decode into the one buffer, reserved once so that no
    // partial copy is left behind by a reallocation.
    out.reserve(n / 4 * 3 + 2);
    uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        int8_t v = b64_value(c);
        if (v < 0)
            continue;
        acc = (acc << 6 | uint32_t(v)) & 0xfff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char(acc >> bits));
        }
    }
    // The 2 or 4 bits left over by a padded quartet must be zero.
    bool ok = (acc & ((1u << bits) - 1)) == 0;
    acc = 0;
    if (!ok)
        wipe_string(out);
    return ok;
}

std::string base64_encode(std::string_view in)
{
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                            reinterpret_cast<const unsigned char *>(in.data()), int(in.size()));
    out.resize(size_t(n));
    return out;
}

bool wire_u32(std::string_view &p, uint32_t &v)
{
    if (p.size() < 4)
        return false;
    v = (uint32_t(uint8_t(p[0])) << 24) | (uint32_t(uint8_t(p[1])) << 16) | (uint32_t(uint8_t(p[2])) << 8) |
        uint32_t(uint8_t(p[3]));
    p.remove_prefix(4);
    return true;
}

bool wire_string(std::string_view &p, std::string_view &out)
{
    uint32_t n;
    if (!wire_u32(p, n) || n > p.size())
        return false;
    out = p.substr(0, n);
    p.remove_prefix(n);
    return true;
}

void put_u32(std::string &out, uint32_t v)
{
    char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out.append(b, 4);
}

void put_string(std::string &out, std::string_view s)
{
    put_u32(out, uint32_t(s.size()));
    out.append(s);
}

void put_mpint(std::string &out, std::string_view be)
{
    while (!be.empty() && be.front() == '\0')
        be.remove_prefix(1);
    bool pad = !be.empty() && (uint8_t(be.front()) & 0x80);
    put_u32(out, uint32_t(be.size() + pad));
    if (pad)
        out.push_back('\0');
    out.append(be);
}

int secret_pass_cb(char *buf, int size, int, void *secret)
{
    const Secret *s = static_cast<const Secret *>(secret);
    if (!s || s->value.empty())
        return -1;
    int n = int(s->value.size()) < size ? int(s->value.size()) : size;
    memcpy(buf, s->value.data(), size_t(n));
    return n;
}

} // namespace pssh
