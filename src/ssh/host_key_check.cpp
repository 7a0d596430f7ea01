#include "host_key_check.hpp"

#include "known_hosts_cache.hpp"
#include "loop.hpp"

#include <algorithm>
#include <libssh2.h>

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

// Every host key type libssh2 1.10 can verify, after the known ones.
constexpr const char *kAllTypes =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa";

Failure failed(pssh_err code, std::string msg)
{
    Failure f;
    f.set(code, std::move(msg));
    return f;
}

std::string joined(const std::vector<std::string> &v)
{
    std::string s;
    for (const std::string &x : v)
        s += (s.empty() ? "" : ", ") + x;
    return s;
}

} // namespace

Failure HostKeyCheck::lookup(KnownHostsCache &cache, const Settings &st)
{
    uint64_t version = 0;
    Failure err;
    auto known = cache.get(st.cfg.known_hosts, &version, &err);
    if (!known) {
        looked_up_ = false;
        err.msg = "hostkey: " + err.msg;
        return err;
    }
    if (!looked_up_ || version != version_) {
        entries_ = known->lookup(st.host, st.port);
        version_ = version;
        looked_up_ = true;
    }
    return {};
}

std::string HostKeyCheck::preference() const
{
    std::string pref;
    for (const std::string &t : entries_.key_types())
        pref += t + ",";
    return pref.empty() ? pref : pref + kAllTypes;
}

void HostKeyCheck::prefer_known_types(Loop &loop, const Settings &st, LIBSSH2_SESSION *ssh)
{
    if (st.cfg.policy == PSSH_HOSTKEY_OFF)
        return;
    // Offer the host key types known_hosts already holds for this host
    // first, as OpenSSH does; otherwise libssh2 prefers ECDSA and a host
    // known only by its ed25519 key would be refused. A file that cannot
    // be read is reported by check(), after the handshake.
    if (lookup(loop.known_hosts(), st))
        return;
    const std::string pref = preference();
    if (!pref.empty())
        libssh2_session_method_pref(ssh, LIBSSH2_METHOD_HOSTKEY, pref.c_str());
}

Failure HostKeyCheck::verify(KnownHostsCache &cache, const Settings &st, const std::string &keytype,
                             std::string_view blob, bool *added)
{
    *added = false;
    if (Failure f = lookup(cache, st))
        return f;
    const Config &c = st.cfg;
    const std::string name = st.port == 22 ? st.host : "[" + st.host + "]:" + std::to_string(st.port);
    const HostKeyVerdict v = entries_.check(keytype, blob);
    const std::string where = c.known_hosts + ":" + std::to_string(v.line);
    switch (v.status) {
    case HostKeyStatus::Match:
        return {};
    case HostKeyStatus::Revoked:
        return failed(PSSH_E_HOSTKEY, "hostkey: the server's " + keytype + " key is marked @revoked in " + where);
    case HostKeyStatus::Mismatch:
        return failed(PSSH_E_HOSTKEY, "hostkey: HOST KEY MISMATCH: the server's " + keytype +
                                          " key differs from the one in " + where +
                                          " (man in the middle, or a reinstalled host?)");
    case HostKeyStatus::OtherType: {
        // The known types were offered first; the server took none of them.
        const std::vector<std::string> known = entries_.key_types();
        const bool rsa = std::find(known.begin(), known.end(), "ssh-rsa") != known.end();
        return failed(PSSH_E_HOSTKEY,
                      "hostkey: HOST KEY MISMATCH: " + name + " is known only by " + joined(known) + " keys (" +
                          where + "), but the server agreed to none of those types and showed a " + keytype +
                          " key (man in the middle, or a reinstalled host? ssh refuses it too; "
                          "if the new key is genuine, replace the host's lines in " +
                          c.known_hosts + ")" +
                          (rsa ? "; note: libssh2 1.10 checks RSA host keys only with ssh-rsa (SHA-1), "
                                 "which OpenSSH 8.8 and later no longer offer"
                               : ""));
    }
    case HostKeyStatus::NotFound:
        break;
    }
    if (c.policy == PSSH_HOSTKEY_STRICT)
        return failed(PSSH_E_HOSTKEY_UNKNOWN, "hostkey: no " + keytype + " key for " + name + " in " +
                                                  c.known_hosts +
                                                  " (policy strict: add the host's key, or use accept-new)");
    if (Failure f = cache.append(c.known_hosts, known_hosts_line(st.host, st.port, keytype, blob))) {
        f.msg = "hostkey: cannot add " + name + " (policy accept-new): " + f.msg;
        return f;
    }
    *added = true;
    return {};
}

Failure HostKeyCheck::check(Loop &loop, const Settings &st, LIBSSH2_SESSION *ssh)
{
    if (st.cfg.policy == PSSH_HOSTKEY_OFF)
        return {};
    size_t len = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(ssh, &len, &type);
    if (!key)
        return failed(PSSH_E_SESSION, "hostkey: the server sent no host key");
    const std::string ktype = hostkey_type_name(type);
    bool added = false;
    Failure f = verify(loop.known_hosts(), st, ktype, std::string_view(key, len), &added);
    if (added)
        loop.log(PSSH_LOG_INFO, "%s: added %s key of %s to %s", st.display.c_str(), ktype.c_str(),
                 known_hosts_name(st.host, st.port).c_str(), st.cfg.known_hosts.c_str());
    return f;
}

} // namespace pssh
