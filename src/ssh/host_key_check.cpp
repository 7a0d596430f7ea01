#include "host_key_check.hpp"

#include "known_hosts.hpp"
#include "loop.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <libssh2.h>
#include <unistd.h>

namespace pssh {

namespace {

const char *hostkey_type_name(int type)
{
    switch (type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
        return "ssh-rsa";
    case LIBSSH2_HOSTKEY_TYPE_DSS:
        return "ssh-dss";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
        return "ecdsa-sha2-nistp256";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
        return "ecdsa-sha2-nistp384";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
        return "ecdsa-sha2-nistp521";
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
        return "ssh-ed25519";
    }
    return "unknown";
}

Failure failed(pssh_err code, std::string msg)
{
    Failure f;
    f.set(code, std::move(msg));
    return f;
}

} // namespace

void HostKeyCheck::prefer_known_types(Loop &loop, const Settings &st, LIBSSH2_SESSION *ssh)
{
    if (st.cfg.policy == PSSH_HOSTKEY_OFF)
        return;
    // Offer the host key types known_hosts already holds for this host
    // first, as OpenSSH does; otherwise libssh2 prefers ECDSA and a host
    // known only by its ed25519 key looks unknown.
    if (auto known = loop.known_hosts().get(st.cfg.known_hosts)) {
        std::string pref;
        for (const std::string &t : known->key_types(st.host, st.port))
            pref += t + ",";
        if (!pref.empty()) {
            pref += "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa";
            libssh2_session_method_pref(ssh, LIBSSH2_METHOD_HOSTKEY, pref.c_str());
        }
    }
}

Failure HostKeyCheck::check(Loop &loop, const Settings &st, LIBSSH2_SESSION *ssh)
{
    const Config &c = st.cfg;
    if (c.policy == PSSH_HOSTKEY_OFF)
        return {};
    size_t len = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(ssh, &len, &type);
    if (!key)
        return failed(PSSH_E_SESSION, "hostkey: the server sent no host key");
    const std::string ktype = hostkey_type_name(type);
    auto known = loop.known_hosts().get(c.known_hosts);
    if (!known)
        return failed(PSSH_E_IO, "hostkey: cannot read " + c.known_hosts + ": " + strerror(errno));
    HostKeyVerdict v = known->check(st.host, st.port, ktype, std::string_view(key, len));
    const std::string where = c.known_hosts + ":" + std::to_string(v.line);
    switch (v.status) {
    case HostKeyStatus::Match:
        return {};
    case HostKeyStatus::Revoked:
        return failed(PSSH_E_HOSTKEY, "hostkey: the server's " + ktype + " key is marked @revoked in " + where);
    case HostKeyStatus::Mismatch:
        return failed(PSSH_E_HOSTKEY, "hostkey: HOST KEY MISMATCH: the server's " + ktype +
                                          " key differs from the one in " + where +
                                          " (man in the middle, or a reinstalled host?)");
    case HostKeyStatus::NotFound:
        break;
    }
    std::string name = st.port == 22 ? st.host : "[" + st.host + "]:" + std::to_string(st.port);
    if (c.policy == PSSH_HOSTKEY_STRICT)
        return failed(PSSH_E_HOSTKEY_UNKNOWN, "hostkey: no " + ktype + " key for " + name + " in " +
                                                  c.known_hosts +
                                                  " (policy strict: add the host's key, or use accept-new)");
    std::string line = known_hosts_line(st.host, st.port, ktype, std::string_view(key, len));
    int fd = open(c.known_hosts.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, line.data(), line.size()) == ssize_t(line.size());
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (!ok)
        return failed(PSSH_E_IO, "hostkey: cannot add " + name + " to " + c.known_hosts + ": " + strerror(e));
    loop.log(PSSH_LOG_INFO, "%s: added %s key of %s to %s", st.display.c_str(), ktype.c_str(), name.c_str(),
             c.known_hosts.c_str());
    return {};
}

} // namespace pssh
