#include "known_hosts.hpp"

#include "wire.hpp"

#include <algorithm>
#include <cctype>

namespace pssh {

namespace {

std::string lowercase(std::string_view s)
{
    std::string out(s);
    for (char &c : out)
        c = char(tolower(static_cast<unsigned char>(c)));
    return out;
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

bool hashed_match(std::string_view pattern, const std::string &name)
{
    HashedName h;
    return h.parse(pattern) && h.matches(name);
}

struct Fields {
    std::string_view marker, hosts, type, key;
};

// Splits one line into fields; false for blanks, comments and junk.
bool parse_line(std::string_view line, Fields &f)
{
    auto next = [&line]() {
        size_t i = 0;
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            i++;
        line.remove_prefix(i);
        size_t j = 0;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t')
            j++;
        std::string_view w = line.substr(0, j);
        line.remove_prefix(j);
        return w;
    };
    std::string_view w = next();
    if (w.empty() || w[0] == '#')
        return false;
    if (w[0] == '@') {
        f.marker = w;
        w = next();
    }
    f.hosts = w;
    f.type = next();
    f.key = next();
    return !f.hosts.empty() && !f.type.empty() && !f.key.empty();
}

// A hosts field of plain names only: each can be looked up by equality.
bool plain_names(std::string_view hosts)
{
    return hosts.find_first_of("*?!|") == std::string_view::npos;
}

} // namespace

std::string known_hosts_name(const std::string &host, int port)
{
    // As OpenSSH does: host names are case-insensitive, and ssh lowercases
    // them before hashing or writing them.
    std::string h = lowercase(host);
    if (port == 22)
        return h;
    return "[" + h + "]:" + std::to_string(port);
}

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
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        add(line, ++lines_);
    }
}

void KnownHosts::append(std::string line)
{
    if (!line.empty() && line.back() == '\n')
        line.pop_back();
    appended_.push_back(std::move(line));
    add(appended_.back(), ++lines_);
}

void KnownHosts::add(std::string_view line, int lineno)
{
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    Fields f;
    if (!parse_line(line, f))
        return;
    Entry e{HostEntries::Marker::None, f.hosts, f.type, f.key, lineno};
    if (f.marker == "@revoked")
        e.marker = HostEntries::Marker::Revoked;
    else if (f.marker == "@cert-authority")
        e.marker = HostEntries::Marker::CertAuthority;
    else if (!f.marker.empty())
        return; // an unknown marker: OpenSSH rejects the line
    auto index = uint32_t(entries_.size());
    if (plain_names(e.hosts)) {
        entries_.push_back(e);
        std::string_view names = e.hosts;
        while (!names.empty()) {
            auto comma = names.find(',');
            std::string_view n = names.substr(0, comma);
            names.remove_prefix(comma == std::string_view::npos ? names.size() : comma + 1);
            if (!n.empty())
                by_name_.emplace(lowercase(n), index);
        }
        return;
    }
    if (e.hosts.rfind("|1|", 0) == 0 && e.hosts.find(',') == std::string_view::npos) {
        Hashed h{index, {}};
        if (!h.name.parse(e.hosts))
            return; // a broken hashed name matches nothing
        entries_.push_back(e);
        hashed_.push_back(h);
        return;
    }
    entries_.push_back(e);
    patterned_.push_back(index);
}

HostEntries KnownHosts::lookup(const std::string &host, int port) const
{
    const std::string name = known_hosts_name(host, port);
    std::vector<uint32_t> hits;
    auto [lo, hi] = by_name_.equal_range(name);
    for (auto it = lo; it != hi; ++it)
        hits.push_back(it->second);
    for (const Hashed &h : hashed_)
        if (h.name.matches(name))
            hits.push_back(h.entry);
    for (uint32_t i : patterned_)
        if (host_patterns_match(entries_[i].hosts, name))
            hits.push_back(i);
    std::sort(hits.begin(), hits.end());
    hits.erase(std::unique(hits.begin(), hits.end()), hits.end()); // "h,h" names a line twice
    HostEntries out;
    out.lines.reserve(hits.size());
    for (uint32_t i : hits) {
        const Entry &e = entries_[i];
        out.lines.push_back({e.marker, std::string(e.type), std::string(e.key), e.line});
    }
    return out;
}

std::vector<std::string> HostEntries::key_types() const
{
    std::vector<std::string> types;
    for (const Line &l : lines)
        if (l.marker == Marker::None && std::find(types.begin(), types.end(), l.type) == types.end())
            types.push_back(l.type);
    return types;
}

HostKeyVerdict HostEntries::check(const std::string &keytype, std::string_view blob) const
{
    const std::string key64 = base64_encode(blob);
    int revoked = 0, match = 0, mismatch = 0, other = 0;
    for (const Line &l : lines) {
        if (l.marker == Marker::Revoked) {
            if (l.key == key64 && !revoked)
                revoked = l.line;
        } else if (l.marker != Marker::None) {
            continue; // @cert-authority: for certificates, which are not supported
        } else if (l.type != keytype) {
            if (!other)
                other = l.line;
        } else if (l.key == key64) {
            if (!match) // several keys of one type may be listed: any one matches
                match = l.line;
        } else if (!mismatch) {
            mismatch = l.line;
        }
    }
    if (revoked)
        return {HostKeyStatus::Revoked, revoked};
    if (match)
        return {HostKeyStatus::Match, match};
    if (mismatch)
        return {HostKeyStatus::Mismatch, mismatch};
    if (other)
        return {HostKeyStatus::OtherType, other};
    return {};
}

HostKeyVerdict KnownHosts::check(const std::string &host, int port, const std::string &keytype,
                                 std::string_view blob) const
{
    return lookup(host, port).check(keytype, blob);
}

std::vector<std::string> KnownHosts::key_types(const std::string &host, int port) const
{
    return lookup(host, port).key_types();
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
    return known_hosts_name(host, port) + " " + keytype + " " + base64_encode(blob) + "\n";
}

} // namespace pssh
