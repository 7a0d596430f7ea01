// The expansions ssh applies to some ssh_config values: "~" and "~user"
// (from the password database, as ssh does, not $HOME), "%x" tokens and
// "${VAR}" environment variables.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pssh {

// "~", "~/path", "~user/path"; anything else unchanged. False (with *why)
// for an unknown user.
bool ssh_tilde_expand(const std::string &path, std::string &out, std::string *why);

// Token letters and their values, e.g. {'h', "web1"}.
using SshTokens = std::vector<std::pair<char, std::string>>;

// One pass over s: "%%" is '%', "%x" the value of token x, and, with
// `dollar`, "${NAME}" the environment variable NAME. False (with *why) for
// an unknown token, a '%' at the end, an unset variable or a '${' without
// '}'.
bool ssh_percent_expand(std::string_view s, const SshTokens &tokens, bool dollar, std::string &out,
                        std::string *why);

} // namespace pssh
