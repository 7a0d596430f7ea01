// known_hosts, read by us. libssh2 1.10's reader takes "@revoked" and
// "@cert-authority" lines for host names and reports a false mismatch when
// the key type is not given, so the file is parsed and matched here:
// plain and hashed (|1|) names, [host]:port, wildcards, negation, markers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pssh {

enum class HostKeyStatus { Match, Mismatch, NotFound, Revoked };

struct HostKeyVerdict {
    HostKeyStatus status = HostKeyStatus::NotFound;
    int line = 0; // the line that decided (mismatch, revoked, match)
};

// A known_hosts text, parsed once. Lines naming plain hosts are indexed by
// name, so a lookup costs the lines for that host plus the lines with
// wildcards, negations or hashed names (which must be tried one by one):
// a large plain file costs nothing per connection but a hash lookup.
class KnownHosts {
public:
    explicit KnownHosts(std::string text);
    KnownHosts(const KnownHosts &) = delete;
    KnownHosts &operator=(const KnownHosts &) = delete;

    // `host` as connected (no brackets); entries for port 22 are "host",
    // others "[host]:port". keytype: "ssh-ed25519"...; blob: the raw key.
    HostKeyVerdict check(const std::string &host, int port, const std::string &keytype,
                         std::string_view blob) const;
    // Key types the file holds for this host (revoked keys and markers left
    // out), in file order, without duplicates.
    std::vector<std::string> key_types(const std::string &host, int port) const;

    struct Entry {
        std::string_view marker; // "", "@revoked", "@cert-authority", or another @word
        std::string_view hosts, type, key;
        int line = 0;
    };

private:
    // Calls fn(entry) for each entry whose hosts match name, in file order.
    template <class Fn> void for_matching(const std::string &name, Fn fn) const;

    std::string text_; // the entries point into it
    std::vector<Entry> entries_;
    std::unordered_multimap<std::string, uint32_t> by_name_; // lowercase plain name -> entry
    std::vector<uint32_t> patterned_;                         // entries that need matching
};

// One-shot forms of KnownHosts::check and key_types over a text.
HostKeyVerdict check_known_hosts(std::string_view text, const std::string &host, int port,
                                 const std::string &keytype, std::string_view blob);
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
