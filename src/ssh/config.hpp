// Host configuration (the public pssh_config) and the settings a connection
// actually uses. A Config records which fields were set, so merging per-host
// settings over defaults lets every set value win, false and 0 included
// (parallel-ssh merges with `or` and loses them).
#pragma once
#include "../net/hostspec.hpp"
#include "../util/ref.hpp"
#include "pssh/pssh.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pssh {

// Bytes that are wiped when let go of (passwords, passphrases, key
// material): on destruction, before a new value replaces them (which may
// reallocate), and in the object moved from. Replace `value` only through
// assign() or the assignments, never by writing to the string.
struct Secret {
    std::string value;
    Secret() = default;
    Secret(const Secret &o) : value(o.value) {}
    Secret(Secret &&o) noexcept : value(std::move(o.value)) { o.wipe(); }
    Secret &operator=(const Secret &o);
    Secret &operator=(Secret &&o) noexcept;
    ~Secret() { wipe(); }
    void assign(std::string_view s);
    // Overwrites the whole buffer (past the end too), then empties it.
    void wipe() noexcept;
};

struct Config {
    enum Field : uint32_t {
        kUser = 1u << 0,
        kPort = 1u << 1,
        kPassword = 1u << 2,
        kPkey = 1u << 3,
        kIdentities = 1u << 4,
        kAgent = 1u << 5,
        kDefaultIds = 1u << 6,
        kTimeout = 1u << 7,
        kRetries = 1u << 8,
        kKeepalive = 1u << 9,
        kKnownHosts = 1u << 10,
        kPolicy = 1u << 11,
        kIpv6Only = 1u << 12,
        kAlias = 1u << 13,
        kCompress = 1u << 14,
        kRsaSha1 = 1u << 15,
        kSshConfig = 1u << 16,
        kConfigIds = 1u << 17,
        kProxyJump = 1u << 18,
        kProxy = 1u << 19,
        kProxyPort = 1u << 20,
        kProxyUser = 1u << 21,
        kProxyPassword = 1u << 22,
        kProxyPkey = 1u << 23,
    };
    uint32_t set = 0;

    std::string user;
    int port = 22;
    Secret password;
    std::string pkey_path;   // empty when the key is in memory
    Secret pkey_data;        // the key itself when in memory
    Secret passphrase;
    bool has_passphrase = false;
    std::vector<std::string> identity_files;
    bool agent = true;
    bool default_identities = true;
    int timeout_ms = 60000;
    int retries = 2;
    int retry_delay_ms = 5000;
    int keepalive_s = 60;
    std::string known_hosts;
    pssh_host_key_policy policy = PSSH_HOSTKEY_STRICT;
    bool ipv6_only = false;
    std::string alias;
    bool compress = false;
    // Proxy (jump) hosts, first hop first, as ssh -J writes them; empty:
    // direct. The proxy_* values apply to every hop that does not say
    // otherwise in its own "user@" or ":port".
    std::vector<HostSpec> proxy;
    int proxy_port = 22;
    std::string proxy_user; // empty: the target's user
    Secret proxy_password;  // unset: the target's password
    std::string proxy_pkey_path;
    Secret proxy_pkey_data;
    Secret proxy_passphrase;
    bool proxy_has_passphrase = false;
    // An RSA key may fall back to "ssh-rsa" (SHA-1) signatures after the
    // server refused rsa-sha2-512 and rsa-sha2-256 (pssh_config_set_rsa_sha1).
    bool rsa_sha1 = true;
    // ssh_config files to read for each host, in order ("~/" is the home
    // directory); none read when empty (the default).
    std::vector<std::string> ssh_config_files;
    // Keys named by ssh_config's IdentityFile: tried after identity_files,
    // and, as ssh does, skipped when missing or unusable.
    std::vector<std::string> config_identity_files;
    // ssh_config's ProxyJump, kept until proxies are supported.
    std::string proxy_jump;

    bool has(Field f) const noexcept { return set & f; }
    // Fields set in `over` replace ours.
    void apply(const Config &over);
};

// One proxy hop as a connection to it uses it: its address, its user, and
// the target's settings with the proxy's own credentials where set.
struct ProxyHop {
    std::string host;
    int port = 22;
    std::string user;
    std::string display; // "proxy user@host:port", in messages
    Config cfg;          // retries 0: the target's attempts retry the hop
};

// What one host's connections use: built-in defaults <- client defaults <-
// per-host config <- user/port written in the host string.
struct Settings final : RefCounted {
    std::string host;    // name or address, no brackets
    std::string given;   // the host as the user wrote it
    std::string display; // alias, or `given`
    std::string user;
    int port = 22;
    Config cfg;          // everything else, fully resolved
    std::vector<ProxyHop> proxies; // the way to the host, first hop first
    // The keys this host's connections sign with, parsed once per loop
    // (Loop::signer_for): the loop's cache keeps a key only while some
    // Settings holds it. Set when a connection plans its authentication.
    std::vector<Ref<class Signer>> signers;

    // Out of line, where Signer is complete.
    Settings();
    ~Settings() override;
};

// Fills st.proxies from st.cfg (after user and port are known).
void resolve_proxies(Settings &st);

// Built-in defaults that depend on the environment (user, home directory,
// agent socket).
Config builtin_defaults();

// $HOME, or the password database entry.
std::string home_dir();

} // namespace pssh
