// known_hosts, read by us. libssh2 1.10's reader takes "@revoked" and
// "@cert-authority" lines for host names and reports a false mismatch when
// the key type is not given, so the file is parsed and matched here:
// plain and hashed (|1|) names, [host]:port, wildcards, negation, markers.
#pragma once
#include "known_hosts_hash.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pssh {

// What known_hosts says of the key a server showed. As in OpenSSH
// (hostfile.c), the key is held against every key known for the host,
// whatever its type; only @revoked lines are kept apart, and
// @cert-authority lines are left out (certificates are not supported, and
// OpenSSH does not use CA lines for a plain key either).
enum class HostKeyStatus {
    Match,     // a line for the host holds this very key
    Mismatch,  // lines for the host hold other keys of this type, none this one
    OtherType, // the host is known, but only by keys of other types
    NotFound,  // no line names the host (marked lines aside)
    Revoked,   // a @revoked line for the host holds this key
};

struct HostKeyVerdict {
    HostKeyStatus status = HostKeyStatus::NotFound;
    int line = 0; // the first line that decided (0 for NotFound)
};

// The lines of a known_hosts file that name one host, in file order,
// copied out of the file: what one connection needs before its handshake
// (the key types to ask for) and after it (the verdict).
struct HostEntries {
    enum class Marker { None, Revoked, CertAuthority };
    struct Line {
        Marker marker = Marker::None;
        std::string type, key; // key: base64, as written in the file
        int line = 0;
    };
    std::vector<Line> lines;

    // Key types of the unmarked lines, in file order, without duplicates.
    std::vector<std::string> key_types() const;
    // keytype: "ssh-ed25519"...; blob: the raw key. Precedence: Revoked,
    // Match, Mismatch, OtherType, NotFound.
    HostKeyVerdict check(const std::string &keytype, std::string_view blob) const;
};

// A known_hosts text, parsed once. Lines naming plain hosts are indexed by
// name; hashed names are decoded and keyed when parsed (known_hosts_hash);
// lines with wildcards or negations are matched one by one. A lookup is one
// pass over the hashed and patterned lines.
class KnownHosts {
public:
    explicit KnownHosts(std::string text);
    KnownHosts(const KnownHosts &) = delete;
    KnownHosts &operator=(const KnownHosts &) = delete;

    // `host` as connected (no brackets); entries for port 22 are "host",
    // others "[host]:port".
    HostEntries lookup(const std::string &host, int port) const;
    // One line appended to the file after it was read (accept-new's own;
    // a final newline is dropped): it becomes the file's next line.
    void append(std::string line);

    // lookup(host, port).check(...) and .key_types().
    HostKeyVerdict check(const std::string &host, int port, const std::string &keytype,
                         std::string_view blob) const;
    std::vector<std::string> key_types(const std::string &host, int port) const;

private:
    struct Entry {
        HostEntries::Marker marker;
        std::string_view hosts, type, key;
        int line;
    };
    struct Hashed {
        uint32_t entry;
        HashedName name;
    };
    void add(std::string_view line, int lineno);

    std::string text_;                // the entries point into it
    std::deque<std::string> appended_; // and into these (stable addresses)
    int lines_ = 0;
    std::vector<Entry> entries_;
    std::unordered_multimap<std::string, uint32_t> by_name_; // lowercase plain name -> entry
    std::vector<Hashed> hashed_;                              // "|1|salt|hash" alone
    std::vector<uint32_t> patterned_;                         // anything else: matched in turn
};

// One-shot forms of KnownHosts::check and key_types over a text.
HostKeyVerdict check_known_hosts(std::string_view text, const std::string &host, int port,
                                 const std::string &keytype, std::string_view blob);
std::vector<std::string> known_key_types(std::string_view text, const std::string &host, int port);

// A line for this host and key, newline included.
std::string known_hosts_line(const std::string &host, int port, const std::string &keytype,
                             std::string_view blob);

// The name a host is known by: lowercase, "[host]:port" unless port 22.
std::string known_hosts_name(const std::string &host, int port);

// One host-pattern field ("a,b,!c", "|1|salt|hash", "[h]:p", wildcards)
// against the lookup name ("host" or "[host]:port").
bool host_patterns_match(std::string_view patterns, const std::string &name);

} // namespace pssh
