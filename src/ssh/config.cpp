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
    if (o.has(kRsaSha1))
        rsa_sha1 = o.rsa_sha1;
    set |= o.set;
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
