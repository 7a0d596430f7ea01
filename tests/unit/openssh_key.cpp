#include "openssh_key.hpp"

#include "support.hpp"

#include <cctype>

namespace unit {

namespace {

uint32_t u32(const std::string &s, size_t &at)
{
    cr_assert(at + 4 <= s.size(), "truncated key");
    uint32_t v = uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 |
                 uint32_t(uint8_t(s[at + 2])) << 8 | uint8_t(s[at + 3]);
    at += 4;
    return v;
}

std::string str(const std::string &s, size_t &at)
{
    uint32_t n = u32(s, at);
    cr_assert(at + n <= s.size(), "truncated key");
    std::string out = s.substr(at, n);
    at += n;
    return out;
}

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

size_t field_count(const std::string &type)
{
    if (type == "ssh-ed25519")
        return 2;
    if (type.rfind("ecdsa-sha2-", 0) == 0)
        return 3;
    if (type == "ssh-rsa")
        return 6;
    cr_assert_fail("key type %s", type.c_str());
    return 0;
}

const char kBegin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
const char kEnd[] = "-----END OPENSSH PRIVATE KEY-----";

} // namespace

std::string ssh_string(const std::string &s) { return be32(uint32_t(s.size())) + s; }

std::string pem_bytes(const std::string &text)
{
    size_t b = text.find("-----\n");
    size_t e = text.find("-----END");
    cr_assert(b != std::string::npos && e != std::string::npos, "not PEM");
    std::string body;
    for (size_t i = b + 6; i < e; i++)
        if (!isspace(uint8_t(text[i])))
            body += text[i];
    return unbase64(body);
}

OpensshKey OpensshKey::parse(const std::string &text)
{
    std::string raw = pem_bytes(text);
    OpensshKey k;
    size_t at = 15;
    cr_assert(raw.compare(0, 15, std::string("openssh-key-v1\0", 15)) == 0, "magic");
    cr_assert(str(raw, at) == "none", "encrypted key");
    str(raw, at);
    str(raw, at);
    cr_assert_eq(u32(raw, at), 1u);
    k.head = raw.substr(0, at);
    k.pub = str(raw, at);
    std::string priv = str(raw, at);
    size_t p = 0;
    k.check = u32(priv, p);
    cr_assert_eq(u32(priv, p), k.check);
    k.type = str(priv, p);
    for (size_t i = field_count(k.type); i > 0; i--)
        k.fields.push_back(str(priv, p));
    k.comment = str(priv, p);
    return k;
}

std::string OpensshKey::text() const
{
    std::string priv = be32(check) + be32(check) + ssh_string(type);
    for (const std::string &f : fields)
        priv += ssh_string(f);
    priv += ssh_string(comment);
    for (char pad = 1; priv.size() % 8; pad++)
        priv += pad;
    std::string b64 = base64(head + ssh_string(pub) + ssh_string(priv));
    std::string out = std::string(kBegin) + "\n";
    for (size_t i = 0; i < b64.size(); i += 70)
        out += b64.substr(i, 70) + "\n";
    return out + kEnd + "\n";
}

std::string OpensshKey::pub_from_fields() const
{
    std::string b = ssh_string(type);
    if (type == "ssh-ed25519")
        return b + ssh_string(fields[0]);
    if (type == "ssh-rsa")
        return b + ssh_string(fields[1]) + ssh_string(fields[0]); // e, n
    return b + ssh_string(fields[0]) + ssh_string(fields[1]);     // curve, Q
}

} // namespace unit
