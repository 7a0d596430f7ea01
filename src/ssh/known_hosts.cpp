#include "known_hosts.hpp"

#include "wire.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pssh {

namespace {

std::string lowercase(std::string_view s)
{
    std::string out(s);
    for (char &c : out)
        c = char(tolower(static_cast<unsigned char>(c)));
    return out;
}

// As OpenSSH does: host names are case-insensitive, and ssh lowercases them
// before hashing or writing them.
std::string lookup_name(const std::string &host, int port)
{
    std::string h = lowercase(host);
    if (port == 22)
        return h;
    return "[" + h + "]:" + std::to_string(port);
}

// OpenSSH's match_pattern: '*' any run, '?' one character. Iterative with
// one backtrack point, so it is linear-ish and never recurses.
bool wildcard_match(std::string_view s, std::string_view p)
{
    size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
    while (si < s.size()) {
        if (pi < p.size() && (p[pi] == '?' || tolower(static_cast<unsigned char>(p[pi])) == tolower(static_cast<unsigned char>(s[si])))) {
            si++;
            pi++;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*')
        pi++;
    return pi == p.size();
}

// |1|base64(salt)|base64(HMAC-SHA1(salt, name))
bool hashed_match(std::string_view entry, const std::string &name)
{
    entry.remove_prefix(3);
    auto bar = entry.find('|');
    if (bar == std::string_view::npos)
        return false;
    std::string salt, want;
    if (!base64_decode(entry.substr(0, bar), salt) || !base64_decode(entry.substr(bar + 1), want))
        return false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha1(), salt.data(), int(salt.size()),
              reinterpret_cast<const unsigned char *>(name.data()), name.size(), mac, &len))
        return false;
    return len == want.size() && memcmp(mac, want.data(), len) == 0;
}

// Splits one line into fields; false for blanks, comments and junk.
bool parse_line(std::string_view line, KnownHosts::Entry &e)
{
    auto next = [&line]() {
        size_t i = 0;
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            i++;
        line.remove_prefix(i);
        size_t j = 0;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t')
            j++;
        std::string_view f = line.substr(0, j);
        line.remove_prefix(j);
        return f;
    };
    std::string_view f = next();
    if (f.empty() || f[0] == '#')
        return false;
    if (f[0] == '@') {
        e.marker = f;
        f = next();
    }
    e.hosts = f;
    e.type = next();
    e.key = next();
    return !e.hosts.empty() && !e.type.empty() && !e.key.empty();
}

// A hosts field of plain names only: each can be looked up by equality.
bool plain_names(std::string_view hosts)
{
    return hosts.find_first_of("*?!|") == std::string_view::npos;
}

} // namespace

bool host_patterns_match(std::string_view patterns, const std::string &name)
{
    bool matched = false;
    while (!patterns.empty()) {
        auto comma = patterns.find(',');
        std::string_view p = patterns.substr(0, comma);
        patterns.remove_prefix(comma == std::string_view::npos ? patterns.size() : comma + 1);
        bool negate = !p.empty() && p[0] == '!';
        if (negate)
            p.remove_prefix(1);
        bool hit = p.rfind("|1|", 0) == 0 ? hashed_match(p, name) : wildcard_match(name, p);
        if (hit && negate)
            return false; // a negated match excludes the host from the whole line
        matched |= hit;
    }
    return matched;
}

KnownHosts::KnownHosts(std::string text) : text_(std::move(text))
{
    std::string_view rest = text_;
    int lineno = 0;
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        lineno++;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        Entry e;
        if (!parse_line(line, e))
            continue;
        e.line = lineno;
        auto index = uint32_t(entries_.size());
        entries_.push_back(e);
        if (!plain_names(e.hosts)) {
            patterned_.push_back(index);
            continue;
        }
        std::string_view names = e.hosts;
        while (!names.empty()) {
            auto comma = names.find(',');
            std::string_view n = names.substr(0, comma);
            names.remove_prefix(comma == std::string_view::npos ? names.size() : comma + 1);
            if (!n.empty())
                by_name_.emplace(lowercase(n), index);
        }
    }
}

template <class Fn> void KnownHosts::for_matching(const std::string &name, Fn fn) const
{
    std::vector<uint32_t> hits;
    auto [lo, hi] = by_name_.equal_range(name);
    for (auto it = lo; it != hi; ++it)
        hits.push_back(it->second);
    for (uint32_t i : patterned_)
        if (host_patterns_match(entries_[i].hosts, name))
            hits.push_back(i);
    std::sort(hits.begin(), hits.end());
    hits.erase(std::unique(hits.begin(), hits.end()), hits.end()); // "h,h" names a line twice
    for (uint32_t i : hits)
        fn(entries_[i]);
}

HostKeyVerdict KnownHosts::check(const std::string &host, int port, const std::string &keytype,
                                 std::string_view blob) const
{
    const std::string name = lookup_name(host, port);
    const std::string key64 = base64_encode(blob);
    HostKeyVerdict revoked{HostKeyStatus::NotFound, 0}, match = revoked, mismatch = revoked;
    for_matching(name, [&](const Entry &e) {
        if (e.marker == "@revoked") {
            if (e.key == key64 && !revoked.line)
                revoked = {HostKeyStatus::Revoked, e.line};
            return;
        }
        if (!e.marker.empty()) // @cert-authority: certificates are not supported
            return;
        if (e.type != keytype)
            return;
        if (e.key == key64) {
            if (!match.line)
                match = {HostKeyStatus::Match, e.line};
        } else if (!mismatch.line) {
            mismatch = {HostKeyStatus::Mismatch, e.line};
        }
    });
    if (revoked.line)
        return revoked;
    if (match.line) // several keys of one type may be listed: any one matches
        return match;
    return mismatch;
}

std::vector<std::string> KnownHosts::key_types(const std::string &host, int port) const
{
    std::vector<std::string> types;
    for_matching(lookup_name(host, port), [&](const Entry &e) {
        if (!e.marker.empty())
            return;
        std::string t(e.type);
        for (const auto &have : types)
            if (have == t)
                return;
        types.push_back(std::move(t));
    });
    return types;
}

HostKeyVerdict check_known_hosts(std::string_view text, const std::string &host, int port,
                                 const std::string &keytype, std::string_view blob)
{
    return KnownHosts(std::string(text)).check(host, port, keytype, blob);
}

std::vector<std::string> known_key_types(std::string_view text, const std::string &host, int port)
{
    return KnownHosts(std::string(text)).key_types(host, port);
}

std::string known_hosts_line(const std::string &host, int port, const std::string &keytype,
                             std::string_view blob)
{
    return lookup_name(host, port) + " " + keytype + " " + base64_encode(blob) + "\n";
}

bool read_small_file(const std::string &path, std::string &out, size_t max_bytes)
{
    out.clear();
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[8192];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return false;
        }
        if (n == 0)
            break;
        if (out.size() + size_t(n) > max_bytes) {
            close(fd);
            errno = EFBIG;
            return false;
        }
        out.append(buf, size_t(n));
    }
    close(fd);
    return true;
}

} // namespace pssh
