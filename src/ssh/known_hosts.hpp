// known_hosts, read by us. libssh2 1.10's reader takes "@revoked" and
// "@cert-authority" lines for host names and reports a false mismatch when
// the key type is not given, so the file is parsed and matched here:
// plain and hashed (|1|) names, [host]:port, wildcards, negation, markers.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace pssh {

enum class HostKeyStatus { Match, Mismatch, NotFound, Revoked };

struct HostKeyVerdict {
    HostKeyStatus status = HostKeyStatus::NotFound;
    int line = 0; // the line that decided (mismatch, revoked, match)
};

// `host` as connected (no brackets); entries for port 22 are "host", others
// "[host]:port". keytype: "ssh-ed25519"...; blob: the raw public key.
HostKeyVerdict check_known_hosts(std::string_view text, const std::string &host, int port,
                                 const std::string &keytype, std::string_view blob);

// Key types the file holds for this host (revoked keys and markers left
// out), in file order, without duplicates.
std::vector<std::string> known_key_types(std::string_view text, const std::string &host, int port);

// A line for this host and key, newline included.
std::string known_hosts_line(const std::string &host, int port, const std::string &keytype,
                             std::string_view blob);

// One host-pattern field ("a,b,!c", "|1|salt|hash", "[h]:p", wildcards)
// against the lookup name ("host" or "[host]:port").
bool host_patterns_match(std::string_view patterns, const std::string &name);

// Reads a whole file: false if it is missing (errno set) or unreadable.
bool read_small_file(const std::string &path, std::string &out, size_t max_bytes);

} // namespace pssh
