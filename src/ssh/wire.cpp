#include "wire.hpp"

#include "config.hpp"

#include <cctype>
#include <cstring>
#include <openssl/evp.h>

namespace pssh {

bool base64_decode(std::string_view in, std::string &out)
{
    std::string clean;
    clean.reserve(in.size());
    for (char c : in)
        if (!isspace(static_cast<unsigned char>(c)))
            clean.push_back(c);
    if (clean.empty() || clean.size() % 4)
        return false;
    out.resize(clean.size() / 4 * 3);
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                            reinterpret_cast<const unsigned char *>(clean.data()), int(clean.size()));
    if (n < 0)
        return false;
    size_t pad = clean.back() == '=' ? (clean[clean.size() - 2] == '=' ? 2 : 1) : 0;
    out.resize(size_t(n) - pad);
    return true;
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
