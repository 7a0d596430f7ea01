// Host files as users write them: one host per line, '#' comments, blanks.
// A line is a host pattern: ranges ("web[01-20]") and comma-separated
// lists expand to their hosts (hostrange.hpp), each reported with the
// line it came from.
#pragma once
#include <functional>
#include <string>

namespace pssh {

enum class HostFileResult { Ok, Unreadable, Malformed, Stopped };

// Calls fn(host, line) for each host; fn returns false to stop. On
// Malformed or Unreadable, *why says "FILE:LINE: reason" / "FILE: reason".
HostFileResult read_host_file(const std::string &path,
                              const std::function<bool(const std::string &, unsigned)> &fn, std::string *why);

} // namespace pssh
