#include "ssh_expand.hpp"

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>

namespace pssh {

namespace {

bool home_of(const std::string &user, std::string &home, std::string *why)
{
    passwd pw{}, *res = nullptr;
    std::vector<char> buf(16384);
    int rc = user.empty() ? getpwuid_r(getuid(), &pw, buf.data(), buf.size(), &res)
                          : getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res);
    if (rc != 0 || !res || !pw.pw_dir) {
        if (why)
            *why = user.empty() ? "no password entry for uid " + std::to_string(getuid())
                                : "no such user '" + user + "'";
        return false;
    }
    home = pw.pw_dir;
    return true;
}

} // namespace

bool ssh_tilde_expand(const std::string &path, std::string &out, std::string *why)
{
    if (path.empty() || path[0] != '~') {
        out = path;
        return true;
    }
    std::string user, rest;
    const auto slash = path.find('/');
    if (slash == std::string::npos) {
        user = path.substr(1);
    } else {
        user = path.substr(1, slash - 1);
        rest = path.substr(path.find_first_not_of('/', slash) == std::string::npos
                               ? path.size()
                               : path.find_first_not_of('/', slash));
    }
    std::string home;
    if (!home_of(user, home, why))
        return false;
    if (home.empty() || home.back() != '/')
        home += '/';
    out = home + rest;
    return true;
}

bool ssh_percent_expand(std::string_view s, const SshTokens &tokens, bool dollar, std::string &out,
                        std::string *why)
{
    out.clear();
    for (size_t i = 0; i < s.size(); i++) {
        if (dollar && s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
            const auto close = s.find('}', i + 2);
            if (close == std::string_view::npos) {
                if (why)
                    *why = "environment variable '" + std::string(s.substr(i + 2)) + "' misses its closing '}'";
                return false;
            }
            const std::string name(s.substr(i + 2, close - i - 2));
            if (name.empty()) {
                if (why)
                    *why = "an empty environment variable name '${}'";
                return false;
            }
            const char *v = getenv(name.c_str());
            if (!v) {
                if (why)
                    *why = "environment variable ${" + name + "} is not set";
                return false;
            }
            out += v;
            i = close;
            continue;
        }
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (++i == s.size()) {
            if (why)
                *why = "a '%' at the end of '" + std::string(s) + "'";
            return false;
        }
        if (s[i] == '%') {
            out += '%';
            continue;
        }
        bool known = false;
        for (const auto &[letter, value] : tokens)
            if (letter == s[i]) {
                out += value;
                known = true;
                break;
            }
        if (!known) {
            if (why)
                *why = std::string("unknown token %") + s[i] + " in '" + std::string(s) + "'";
            return false;
        }
    }
    return true;
}

} // namespace pssh
