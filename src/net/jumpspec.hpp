// A chain of proxy (jump) hosts as ssh -J writes it:
// "[user@]host[:port][,[user@]host[:port]...]", first hop first.
#pragma once
#include "hostspec.hpp"

#include <string>
#include <vector>

namespace pssh {

// At most this many hops (ssh has no limit; each hop is a thread here).
constexpr size_t kMaxProxyHops = 8;

// True on success (an empty text is an empty chain); otherwise *why says
// which hop is wrong and how.
bool parse_jump_spec(const std::string &text, std::vector<HostSpec> &out, std::string *why);

} // namespace pssh
