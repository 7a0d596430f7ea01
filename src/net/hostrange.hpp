// Host ranges as pdsh and ClusterShell users write them:
// "web[01-20].example.com", "node[1-3,7,10-12]", several brackets in one
// name (the leftmost varies slowest), and comma-separated lists of such
// patterns ("node[1-2],login1"). Zero padding is kept: "[08-10]" gives 08,
// 09, 10. A bracket holding a ':' is an IPv6 address ("[::1]:2222"), kept
// as it is.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace pssh {

// More than this many hosts from one pattern is an error, not a plan: it
// is almost always a typo ("[1-1000000]" for "[1-100]").
constexpr uint64_t kMaxRangeHosts = 1000000;

enum class HostRangeResult { Ok, Malformed, Stopped };

// Calls fn(host) for each host the pattern names, in order; fn returns
// false to stop (Stopped). Nothing is called unless the whole pattern is
// well formed and names at most kMaxRangeHosts hosts: otherwise Malformed,
// with *why saying what is wrong. Each host is a bare string: whether it
// is a valid host (parse_host_spec) is the caller's business.
HostRangeResult expand_host_ranges(std::string_view pattern, const std::function<bool(const std::string &)> &fn,
                                   std::string *why);

} // namespace pssh
