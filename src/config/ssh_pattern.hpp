// OpenSSH's patterns (match.c semantics): '*' matches any run of
// characters, '?' exactly one, everything else itself (case-sensitive).
// A pattern list is comma-separated, each item optionally negated by '!':
// a negated match wins over every positive one.
#pragma once
#include <string_view>

namespace pssh {

bool ssh_match_pattern(std::string_view s, std::string_view pattern);

// 1: a positive match, -1: a negated item matched, 0: no match. With
// `lower`, the items are lowercased before matching (the caller lowercases
// s). An item of 1023 characters or more makes the whole list fail (0), as
// OpenSSH's fixed buffer does.
int ssh_match_pattern_list(std::string_view s, std::string_view list, bool lower);

// A host name against a list, both compared in lower case.
int ssh_match_hostname(std::string_view host, std::string_view list);

} // namespace pssh
