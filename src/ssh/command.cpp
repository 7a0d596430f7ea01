#include "command.hpp"

namespace pssh {

std::string shell_quote(const std::string &s)
{
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += "'";
    return out;
}

std::string build_command(const std::string &cmd, const pssh_cmd_opts *o)
{
    if (!o)
        return cmd;
    bool has_shell = o->shell && *o->shell;
    bool sudo = o->sudo || (o->user && *o->user);
    if (!has_shell && !sudo)
        return cmd;
    // sudo needs a shell to run a compound command as one unit.
    std::string body = has_shell ? std::string(o->shell) + " " + shell_quote(cmd)
                       : sudo    ? "sh -c " + shell_quote(cmd)
                                 : cmd;
    if (!sudo)
        return body;
    std::string prefix = "sudo -S ";
    if (o->user && *o->user)
        prefix += "-u " + shell_quote(o->user) + " ";
    return prefix + body;
}

} // namespace pssh
