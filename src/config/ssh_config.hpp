// Resolving one host's settings from ssh_config files, as OpenSSH 9.2's ssh
// does: the files in order, Host and Match blocks, Include (glob, at most
// 16 deep), the first value obtained for a keyword wins, a second pass when
// a "Match final" (or CanonicalizeHostname) asks for one, then HostName's
// %h, ssh's defaults and the "~", "%x" and "${VAR}" expansions where ssh
// makes them.
#pragma once
#include "pssh/pssh.h"
#include "ssh_config_cache.hpp"
#include "ssh_expand.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pssh {

// The host and what was given with it, as ssh's command line gives them:
// a user or port given here wins over the files' User and Port.
struct SshQuery {
    std::string host; // as written, no user or port (ssh's host argument)
    std::string user; // "" when not given
    int port = 0;     // 0 when not given
};

// The values obtained from the files (unset: -1, empty, nullopt).
struct SshOptions {
    std::optional<std::string> user, hostname, host_key_alias, proxy_command;
    int port = -1;
    int identities_only = -1, compression = -1, strict = -1, canonicalize = -1;
    int connect_timeout = -1, server_alive_interval = -1, connection_attempts = -1;
    std::vector<std::string> identity_files; // as written, in order, no duplicates
    std::vector<std::string> known_hosts;    // as written
    std::optional<SshJump> jump;
    // Lines that applied to the host and that libpssh does not honour.
    struct Ignored {
        std::string keyword, where; // "FILE line N"
    };
    std::vector<Ignored> ignored;
};

struct SshResolved {
    SshOptions got;           // what the files said
    std::string hostname;     // where to connect: HostName's %h expanded, lower case
    std::string user;         // the user, the file's or the local one
    int port = 22;
    SshTokens tokens;         // %C %d %h %i %k %L %l %n %p %r %u for file names
    std::vector<std::string> known_hosts; // expanded; ssh's two defaults when unset
    std::string proxy_jump;   // as ssh -G prints it; "" when none
};

// Reads the files (in order; a missing one is skipped) for q. PSSH_OK, or
// PSSH_E_HOST_ARG (a bad line, a bad Match, an expansion that fails, a
// ProxyJump loop...) or PSSH_E_IO (a file that cannot be read) with the
// reason in *why, naming the file and line.
pssh_err resolve_ssh_config(SshConfigCache &cache, const std::vector<std::string> &files, const SshQuery &q,
                            SshResolved &out, std::string *why);

// The identity files the files named, expanded as ssh expands them before
// loading them ("" when none was named: ssh's defaults apply).
bool ssh_identity_paths(const SshResolved &r, std::vector<std::string> &out, std::string *why);

// What `ssh -G` prints for the keywords libpssh maps, in ssh's order, one
// "keyword value" per line: the conformance tests compare the two.
std::string ssh_config_dump(const SshResolved &r);

} // namespace pssh
