// One ssh_config file, read into statements as OpenSSH 9.2's readconf.c
// reads it: "Keyword value", "Keyword=value", case-insensitive keywords,
// quoted arguments, '#' comments. Every line is checked whatever block it
// is in, so a file with a bad line fails for every host (ssh refuses to run
// with it); which lines apply to a host is decided later (ssh_config.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pssh {

enum class SshKey : uint8_t {
    Host,
    Match,
    Include,
    // Supported: mapped onto the connection's settings.
    User,
    HostName,
    Port,
    IdentityFile,
    IdentitiesOnly,
    ConnectTimeout,
    ConnectionAttempts,
    StrictHostKeyChecking,
    UserKnownHostsFile,
    ServerAliveInterval,
    Compression,
    // Kept, not used yet (warned about when they apply to a host).
    ProxyJump,
    ProxyCommand,
    HostKeyAlias,
    CanonicalizeHostname,
    // Known to ssh and not supported here: one warning when it applies.
    Unsupported,
};

// StrictHostKeyChecking, as ssh numbers it.
enum SshStrict : int { kStrictOff = 0, kStrictYes = 1, kStrictAsk = 2, kStrictNew = 3 };
// CanonicalizeHostname.
enum SshCanon : int { kCanonNo = 0, kCanonYes = 1, kCanonAlways = 2 };

struct SshMatchCriterion {
    enum Attr : uint8_t { All, Canonical, Final, Exec, Host, OriginalHost, User, LocalUser } attr;
    bool negate = false;
    std::string arg;
};

struct SshStatement {
    SshKey key;
    unsigned line = 0;
    std::string keyword;           // as written
    std::vector<std::string> args; // unquoted
    int value = 0;                 // numbers, flags and enums, checked
    std::vector<SshMatchCriterion> match;
};

struct SshConfigFile {
    std::string path;
    std::vector<SshStatement> statements;
    std::string error; // the first bad line: "FILE line N: reason"; "" if none
};

// Reads `text` (the contents of `path`) into `out`. False when a line is
// bad; out.error says which and why.
bool parse_ssh_config(std::string_view text, const std::string &path, SshConfigFile &out);

// A ProxyJump value as ssh keeps it: the last hop parsed, the hops before
// it as written ("a,b@c:2": extra "a", user "b", host "c", port 2).
struct SshJump {
    bool none = false; // "none": no jump host (and no later one either)
    std::string user, host, extra;
    int port = -1;
};
// False when ssh would reject the value.
bool ssh_parse_jump(const std::string &value, SshJump &out);

// "1h30m" and friends, as ssh's convtime: seconds, or -1 when malformed.
int ssh_convtime(std::string_view s);

// A port as ssh reads one: 1..65535 or a service name; -1 when bad.
int ssh_a2port(const std::string &s);

} // namespace pssh
