// The server's host key against known_hosts, for one connection: which key
// types to ask the server for first (before the handshake), and whether the
// key it showed may be trusted (after it), with accept-new's append.
#pragma once
#include "../util/failure.hpp"
#include "config.hpp"

struct _LIBSSH2_SESSION;

namespace pssh {

class Loop;

class HostKeyCheck {
public:
    // Before the handshake: offer the key types known_hosts already holds
    // for this host first, as OpenSSH does. Does nothing under policy off.
    void prefer_known_types(Loop &loop, const Settings &st, _LIBSSH2_SESSION *ssh);
    // After the handshake: OK, or the failure (PSSH_E_HOSTKEY,
    // PSSH_E_HOSTKEY_UNKNOWN, PSSH_E_IO...) with its message. Under
    // accept-new, an unknown host's key is appended to known_hosts.
    Failure check(Loop &loop, const Settings &st, _LIBSSH2_SESSION *ssh);
};

} // namespace pssh
