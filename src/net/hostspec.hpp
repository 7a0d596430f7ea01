// "[user@]host[:port]" as users write it: IPv6 in brackets ("[::1]:2222"),
// or bare when it has no port ("::1").
#pragma once
#include <string>

namespace pssh {

struct HostSpec {
    std::string user; // empty: not given
    std::string host; // without brackets
    int port = 0;     // 0: not given
};

// True on success; otherwise *why says what is wrong.
bool parse_host_spec(const std::string &text, HostSpec &out, std::string *why);

} // namespace pssh
