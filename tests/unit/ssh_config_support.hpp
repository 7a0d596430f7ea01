// The ssh_config conformance tests' two sides: what libpssh resolves for a
// host, and what OpenSSH's own `ssh -G` prints for it, both reduced to the
// keywords libpssh maps.
#pragma once
#include "support.hpp"

#include <string>
#include <utility>
#include <vector>

namespace unit {

struct SshCase {
    std::string config; // the file given to ssh -F
    // More files next to it (for Include); "@DIR@" in any text is their folder.
    std::vector<std::pair<std::string, std::string>> files;
    std::string host;   // ssh's host argument
    std::string user;   // ssh -l ("" = none)
    int port = 0;       // ssh -p (0 = none)
};

struct SshAnswers {
    std::string ours, theirs; // sorted "keyword value" lines, or "ERROR"
    std::string why;          // libpssh's reason for an ERROR
};

// Both answers for one case, from the same files.
SshAnswers ssh_answers(const SshCase &c);

// A readable account of a case, for failure messages.
std::string describe(const SshCase &c);

} // namespace unit
