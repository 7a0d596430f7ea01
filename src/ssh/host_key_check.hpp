// The server's host key against known_hosts, for one connection: which key
// types to ask the server for first (before the handshake), and whether the
// key it showed may be trusted (after it), with accept-new's append.
// known_hosts is looked up once per connection, before the handshake, and
// again after it only if the file changed in between.
#pragma once
#include "../util/failure.hpp"
#include "config.hpp"
#include "known_hosts.hpp"

#include <cstdint>

struct _LIBSSH2_SESSION;

namespace pssh {

class Loop;
class KnownHostsCache;

class HostKeyCheck {
public:
    // Before the handshake: offer the key types known_hosts already holds
    // for this host first, as OpenSSH does. Does nothing under policy off.
    void prefer_known_types(Loop &loop, const Settings &st, _LIBSSH2_SESSION *ssh);
    // After the handshake: OK, or the failure (PSSH_E_HOSTKEY,
    // PSSH_E_HOSTKEY_UNKNOWN, PSSH_E_IO...) with its message. Under
    // accept-new, an unknown host's key is appended to known_hosts.
    Failure check(Loop &loop, const Settings &st, _LIBSSH2_SESSION *ssh);

    // The same steps without libssh2 (the benchmark and the unit tests use
    // them as the session does). lookup: reads (or reuses) the host's lines.
    Failure lookup(KnownHostsCache &cache, const Settings &st);
    // The host key preference for libssh2: known types first; "" if none.
    std::string preference() const;
    // The verdict on the server's key (keytype: "ssh-ed25519"..., blob: the
    // raw key); *added is set when the key was appended (accept-new).
    Failure verify(KnownHostsCache &cache, const Settings &st, const std::string &keytype,
                   std::string_view blob, bool *added);

private:
    HostEntries entries_;
    uint64_t version_ = 0; // of the file entries_ came from
    bool looked_up_ = false;
};

} // namespace pssh
