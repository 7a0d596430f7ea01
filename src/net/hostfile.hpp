// Host files as users write them: one host per line, '#' comments, blanks.
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
