#include "ssh_pattern.hpp"

#include <cctype>
#include <string>

namespace pssh {

// Greedy with one backtrack point (the last '*'): the same answers as
// OpenSSH's recursive matcher, in linear time per star.
bool ssh_match_pattern(std::string_view s, std::string_view p)
{
    size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
            si++;
            pi++;
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

int ssh_match_pattern_list(std::string_view s, std::string_view list, bool lower)
{
    constexpr size_t kMaxItem = 1023; // OpenSSH copies each item to char[1024]
    bool positive = false;
    std::string item;
    size_t i = 0;
    while (i < list.size()) {
        const bool negated = list[i] == '!';
        if (negated)
            i++;
        const size_t end = std::min(list.find(',', i), list.size());
        if (end - i >= kMaxItem)
            return 0;
        item.assign(list.substr(i, end - i));
        if (lower)
            for (char &c : item)
                c = char(tolower(static_cast<unsigned char>(c)));
        i = end < list.size() ? end + 1 : end;
        if (ssh_match_pattern(s, item)) {
            if (negated)
                return -1;
            positive = true;
        }
    }
    return positive ? 1 : 0;
}

int ssh_match_hostname(std::string_view host, std::string_view list)
{
    std::string h(host);
    for (char &c : h)
        c = char(tolower(static_cast<unsigned char>(c)));
    return ssh_match_pattern_list(h, list, true);
}

} // namespace pssh
