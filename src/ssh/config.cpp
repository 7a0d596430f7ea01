#include "config.hpp"

#include "signer.hpp"
#include "wire.hpp"

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>

namespace pssh {

void Secret::wipe() noexcept { wipe_string(value); }

Secret &Secret::operator=(const Secret &o)
{
    if (this != &o) {
        wipe();
        value = o.value;
    }
    return *this;
}

Secret &Secret::operator=(Secret &&o) noexcept
{
    if (this != &o) {
        wipe();
        value = std::move(o.value);
        o.wipe();
    }
    return *this;
}

void Secret::assign(std::string_view s)
{
    wipe();
    value.assign(s);
}

Settings::Settings() = default;
Settings::~Settings() = default;

void Config::apply(const Config &o)
{
    if (o.has(kUser))
        user = o.user;
    if (o.has(kPort))
        port = o.port;
    if (o.has(kPassword))
        password = o.password;
    if (o.has(kPkey)) {
        pkey_path = o.pkey_path;
        pkey_data = o.pkey_data;
        passphrase = o.passphrase;
        has_passphrase = o.has_passphrase;
    }
    if (o.has(kIdentities))
        identity_files = o.identity_files;
    if (o.has(kAgent))
        agent = o.agent;
    if (o.has(kDefaultIds))
        default_identities = o.default_identities;
    if (o.has(kTimeout))
        timeout_ms = o.timeout_ms;
    if (o.has(kRetries)) {
        retries = o.retries;
        retry_delay_ms = o.retry_delay_ms;
    }
    if (o.has(kKeepalive))
        keepalive_s = o.keepalive_s;
    if (o.has(kKnownHosts))
        known_hosts = o.known_hosts;
    if (o.has(kPolicy))
        policy = o.policy;
    if (o.has(kIpv6Only))
        ipv6_only = o.ipv6_only;
    if (o.has(kAlias))
        alias = o.alias;
    if (o.has(kCompress))
        compress = o.compress;
    if (o.has(kProxy))
        proxy = o.proxy;
    if (o.has(kProxyPort))
        proxy_port = o.proxy_port;
    if (o.has(kProxyUser))
        proxy_user = o.proxy_user;
    if (o.has(kProxyPassword))
        proxy_password = o.proxy_password;
    if (o.has(kProxyPkey)) {
        proxy_pkey_path = o.proxy_pkey_path;
        proxy_pkey_data = o.proxy_pkey_data;
        proxy_passphrase = o.proxy_passphrase;
        proxy_has_passphrase = o.proxy_has_passphrase;
    }
    if (o.has(kRsaSha1))
        rsa_sha1 = o.rsa_sha1;
    if (o.has(kSshConfig))
        ssh_config_files = o.ssh_config_files;
    if (o.has(kConfigIds))
        config_identity_files = o.config_identity_files;
    if (o.has(kProxyJump))
        proxy_jump = o.proxy_jump;
    set |= o.set;
}

// A hop's port is 22 unless its spec or proxy_port says otherwise, as with
// ssh -J: a bastion listens where it listens, whatever port the targets use
// behind it (parallel-ssh takes the target's port, which breaks the common
// case of targets on 2222 behind a bastion on 22).
void resolve_proxies(Settings &st)
{
    st.proxies.clear();
    const Config &c = st.cfg;
    for (const HostSpec &spec : c.proxy) {
        ProxyHop hop;
        hop.host = spec.host;
        hop.port = spec.port ? spec.port : c.has(Config::kProxyPort) ? c.proxy_port : 22;
        hop.user = !spec.user.empty()                              ? spec.user
                   : c.has(Config::kProxyUser) && !c.proxy_user.empty() ? c.proxy_user
                                                                     : st.user;
        const bool v6 = hop.host.find(':') != std::string::npos;
        hop.display = "proxy " + hop.user + "@" + (v6 ? "[" + hop.host + "]" : hop.host) + ":" +
                      std::to_string(hop.port);
        hop.cfg = c;
        hop.cfg.proxy.clear();
        hop.cfg.alias.clear();
        hop.cfg.user = hop.user;
        hop.cfg.port = hop.port;
        hop.cfg.retries = 0;
        if (c.has(Config::kProxyPassword))
            hop.cfg.password = c.proxy_password;
        if (c.has(Config::kProxyPkey)) {
            hop.cfg.pkey_path = c.proxy_pkey_path;
            hop.cfg.pkey_data = c.proxy_pkey_data;
            hop.cfg.passphrase = c.proxy_passphrase;
            hop.cfg.has_passphrase = c.proxy_has_passphrase;
            hop.cfg.set |= Config::kPkey;
        }
        hop.cfg.set &= ~uint32_t(Config::kProxy | Config::kAlias);
        st.proxies.push_back(std::move(hop));
    }
}

std::string home_dir()
{
    if (const char *h = getenv("HOME"); h && *h)
        return h;
    if (const passwd *pw = getpwuid(getuid()); pw && pw->pw_dir)
        return pw->pw_dir;
    return "/";
}

Config builtin_defaults()
{
    Config c;
    if (const passwd *pw = getpwuid(getuid()); pw && pw->pw_name)
        c.user = pw->pw_name;
    else if (const char *u = getenv("USER"))
        c.user = u;
    c.known_hosts = home_dir() + "/.ssh/known_hosts";
    const char *sock = getenv("SSH_AUTH_SOCK");
    c.agent = sock && *sock;
    return c;
}

} // namespace pssh
