// The command line sent to exec, from the caller's command and its
// sudo/user/shell options.
#pragma once
#include "pssh/pssh.h"

#include <string>

namespace pssh {

// POSIX shell single-quoting: 'it'\''s'.
std::string shell_quote(const std::string &s);

// cmd                       as is, when no option is set (sshd runs it with
//                           the login shell, as ssh does)
// shell                     SHELL 'cmd'
// sudo / user               sudo -S [-u 'USER'] sh -c 'cmd'   (or SHELL 'cmd')
std::string build_command(const std::string &cmd, const pssh_cmd_opts *opts);

} // namespace pssh
