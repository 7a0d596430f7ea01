#include "hostspec.hpp"

#include <cctype>

namespace pssh {

namespace {

bool parse_port(const std::string &s, int &port)
{
    if (s.empty() || s.size() > 5)
        return false;
    int p = 0;
    for (char c : s) {
        if (!isdigit(static_cast<unsigned char>(c)))
            return false;
        p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535)
        return false;
    port = p;
    return true;
}

// Host names: letters, digits, '-', '_', '.'; IPv6: hex digits, ':', '.',
// and a '%zone'. Anything else (spaces, '/', control bytes) is a typo.
bool valid_name(const std::string &h, bool v6)
{
    if (h.empty() || h.size() > 253)
        return false;
    bool zone = false; // after '%': an interface name
    for (char c : h) {
        unsigned char u = static_cast<unsigned char>(c);
        if (v6 && !zone) {
            if (isxdigit(u) || c == ':' || c == '.')
                continue;
            if (c == '%') {
                zone = true;
                continue;
            }
            return false;
        }
        if (isalnum(u) || c == '-' || c == '.' || c == '_')
            continue;
        return false;
    }
    return true;
}

bool fail(std::string *why, const char *msg)
{
    if (why)
        *why = msg;
    return false;
}

} // namespace

bool parse_host_spec(const std::string &text, HostSpec &out, std::string *why)
{
    out = HostSpec{};
    if (text.empty())
        return fail(why, "empty host");
    std::string rest = text;
    if (auto at = rest.rfind('@'); at != std::string::npos) {
        out.user = rest.substr(0, at);
        rest = rest.substr(at + 1);
        if (out.user.empty())
            return fail(why, "empty user before '@'");
        for (char c : out.user)
            if (iscntrl(static_cast<unsigned char>(c)) || c == ' ')
                return fail(why, "user name contains a space or control character");
    }
    if (!rest.empty() && rest[0] == '[') {
        auto close = rest.find(']');
        if (close == std::string::npos)
            return fail(why, "'[' without ']'");
        out.host = rest.substr(1, close - 1);
        std::string after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':' || !parse_port(after.substr(1), out.port))
                return fail(why, "bad port after ']' (expected :1-65535)");
        }
        if (!valid_name(out.host, true))
            return fail(why, "bad address inside brackets");
        return true;
    }
    size_t colons = 0;
    for (char c : rest)
        colons += c == ':';
    if (colons > 1) { // bare IPv6, no port
        if (!valid_name(rest, true))
            return fail(why, "bad IPv6 address");
        out.host = rest;
        return true;
    }
    if (colons == 1) {
        auto c = rest.find(':');
        if (!parse_port(rest.substr(c + 1), out.port))
            return fail(why, "bad port (expected 1-65535)");
        rest = rest.substr(0, c);
    }
    if (rest.empty())
        return fail(why, "empty host");
    if (!valid_name(rest, false))
        return fail(why, "host name contains a character that no host name has");
    out.host = rest;
    return true;
}

} // namespace pssh
