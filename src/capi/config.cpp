#include "../net/jumpspec.hpp"
#include "../ssh/config.hpp"
#include "glue.hpp"

using pssh::Config;
using pssh::capi::guard;

struct pssh_config {
    static constexpr uint32_t kMagic = 0x70737332; // "pss2"
    uint32_t magic = kMagic;
    Config cfg;
};

namespace {

pssh_config *check(pssh_config *c) { return c && c->magic == pssh_config::kMagic ? c : nullptr; }

// Runs the setter on a checked config and marks the field as set.
template <class F> pssh_err set(pssh_config *c, Config::Field f, F fn)
{
    if (!check(c))
        return PSSH_E_INVAL;
    return guard([&] {
        pssh_err rc = fn(c->cfg);
        if (rc == PSSH_OK)
            c->cfg.set |= f;
        return rc;
    });
}

bool nonempty(const char *s) { return s && *s; }

} // namespace

namespace pssh::capi {
// For the client glue: the Config inside a public handle (nullptr if bad).
const Config *config_of(const pssh_config *c)
{
    return c && c->magic == pssh_config::kMagic ? &c->cfg : nullptr;
}
} // namespace pssh::capi

extern "C" {

PSSH_API pssh_err pssh_config_new(pssh_config **out)
{
    if (!out)
        return PSSH_E_INVAL;
    *out = new (std::nothrow) pssh_config();
    return *out ? PSSH_OK : PSSH_E_NOMEM;
}

PSSH_API pssh_err pssh_config_dup(const pssh_config *cfg, pssh_config **out)
{
    if (!out || !cfg || cfg->magic != pssh_config::kMagic)
        return PSSH_E_INVAL;
    *out = nullptr;
    return guard([&] {
        *out = new pssh_config(*cfg);
        return PSSH_OK;
    });
}

PSSH_API void pssh_config_free(pssh_config *cfg)
{
    if (check(cfg)) {
        cfg->magic = 0;
        delete cfg;
    }
}

PSSH_API pssh_err pssh_config_set_user(pssh_config *c, const char *user)
{
    if (!nonempty(user))
        return PSSH_E_INVAL;
    return set(c, Config::kUser, [&](Config &k) { k.user = user; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_port(pssh_config *c, int port)
{
    if (port < 1 || port > 65535)
        return PSSH_E_INVAL;
    return set(c, Config::kPort, [&](Config &k) { k.port = port; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_password(pssh_config *c, const char *password)
{
    if (!password)
        return PSSH_E_INVAL;
    return set(c, Config::kPassword, [&](Config &k) { k.password.assign(password); return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_pkey_file(pssh_config *c, const char *path, const char *passphrase)
{
    if (!nonempty(path))
        return PSSH_E_INVAL;
    return set(c, Config::kPkey, [&](Config &k) {
        k.pkey_path = path;
        k.pkey_data.wipe();
        k.has_passphrase = passphrase != nullptr;
        k.passphrase.assign(passphrase ? passphrase : "");
        return PSSH_OK;
    });
}

PSSH_API pssh_err pssh_config_set_pkey_memory(pssh_config *c, const void *data, size_t len,
                                              const char *passphrase)
{
    if (!data || len == 0)
        return PSSH_E_INVAL;
    return set(c, Config::kPkey, [&](Config &k) {
        k.pkey_path.clear();
        k.pkey_data.assign(std::string_view(static_cast<const char *>(data), len));
        k.has_passphrase = passphrase != nullptr;
        k.passphrase.assign(passphrase ? passphrase : "");
        return PSSH_OK;
    });
}

PSSH_API pssh_err pssh_config_add_identity_file(pssh_config *c, const char *path)
{
    if (!nonempty(path))
        return PSSH_E_INVAL;
    return set(c, Config::kIdentities, [&](Config &k) {
        k.identity_files.emplace_back(path);
        return PSSH_OK;
    });
}

PSSH_API pssh_err pssh_config_set_agent(pssh_config *c, int enable)
{
    return set(c, Config::kAgent, [&](Config &k) { k.agent = enable != 0; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_default_identities(pssh_config *c, int enable)
{
    return set(c, Config::kDefaultIds, [&](Config &k) { k.default_identities = enable != 0; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_timeout(pssh_config *c, int timeout_ms)
{
    if (timeout_ms < 0)
        return PSSH_E_INVAL;
    return set(c, Config::kTimeout, [&](Config &k) { k.timeout_ms = timeout_ms; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_retries(pssh_config *c, int retries, int delay_ms)
{
    if (retries < 0 || delay_ms < 0)
        return PSSH_E_INVAL;
    return set(c, Config::kRetries, [&](Config &k) {
        k.retries = retries;
        k.retry_delay_ms = delay_ms;
        return PSSH_OK;
    });
}

PSSH_API pssh_err pssh_config_set_keepalive(pssh_config *c, int seconds)
{
    if (seconds < 0)
        return PSSH_E_INVAL;
    return set(c, Config::kKeepalive, [&](Config &k) { k.keepalive_s = seconds; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_known_hosts(pssh_config *c, const char *path)
{
    if (!nonempty(path))
        return PSSH_E_INVAL;
    return set(c, Config::kKnownHosts, [&](Config &k) { k.known_hosts = path; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_host_key_policy(pssh_config *c, pssh_host_key_policy policy)
{
    int p = pssh::capi::enum_value(policy);
    if (p < PSSH_HOSTKEY_STRICT || p > PSSH_HOSTKEY_OFF)
        return PSSH_E_INVAL;
    return set(c, Config::kPolicy, [&](Config &k) { k.policy = policy; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_ipv6_only(pssh_config *c, int enable)
{
    return set(c, Config::kIpv6Only, [&](Config &k) { k.ipv6_only = enable != 0; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_alias(pssh_config *c, const char *alias)
{
    if (!nonempty(alias))
        return PSSH_E_INVAL;
    return set(c, Config::kAlias, [&](Config &k) { k.alias = alias; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_compression(pssh_config *c, int enable)
{
    return set(c, Config::kCompress, [&](Config &k) { k.compress = enable != 0; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_rsa_sha1(pssh_config *c, int enable)
{
    return set(c, Config::kRsaSha1, [&](Config &k) { k.rsa_sha1 = enable != 0; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_ssh_config(pssh_config *c, const char *const *paths)
{
    if (!paths)
        return PSSH_E_INVAL;
    for (const char *const *p = paths; *p; p++)
        if (!nonempty(*p))
            return PSSH_E_INVAL;
    return set(c, Config::kSshConfig, [&](Config &k) {
        k.ssh_config_files.clear();
        for (const char *const *p = paths; *p; p++)
            k.ssh_config_files.emplace_back(*p);
        return PSSH_OK;
    });
}

PSSH_API pssh_err pssh_config_set_proxy(pssh_config *c, const char *jump)
{
    std::vector<pssh::HostSpec> hops;
    if (!check(c))
        return PSSH_E_INVAL;
    return guard([&] {
        if (jump && !pssh::parse_jump_spec(jump, hops, nullptr))
            return PSSH_E_INVAL;
        return set(c, Config::kProxy, [&](Config &k) { k.proxy = std::move(hops); return PSSH_OK; });
    });
}

PSSH_API pssh_err pssh_config_set_proxy_port(pssh_config *c, int port)
{
    if (port < 1 || port > 65535)
        return PSSH_E_INVAL;
    return set(c, Config::kProxyPort, [&](Config &k) { k.proxy_port = port; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_proxy_user(pssh_config *c, const char *user)
{
    if (!nonempty(user))
        return PSSH_E_INVAL;
    return set(c, Config::kProxyUser, [&](Config &k) { k.proxy_user = user; return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_proxy_password(pssh_config *c, const char *password)
{
    if (!password)
        return PSSH_E_INVAL;
    return set(c, Config::kProxyPassword, [&](Config &k) { k.proxy_password.assign(password); return PSSH_OK; });
}

PSSH_API pssh_err pssh_config_set_proxy_pkey_file(pssh_config *c, const char *path, const char *passphrase)
{
    if (!nonempty(path))
        return PSSH_E_INVAL;
    return set(c, Config::kProxyPkey, [&](Config &k) {
        k.proxy_pkey_path = path;
        k.proxy_pkey_data.wipe();
        k.proxy_has_passphrase = passphrase != nullptr;
        k.proxy_passphrase.assign(passphrase ? passphrase : "");
        return PSSH_OK;
    });
}

PSSH_API pssh_err pssh_config_set_proxy_pkey_memory(pssh_config *c, const void *data, size_t len,
                                                    const char *passphrase)
{
    if (!data || len == 0)
        return PSSH_E_INVAL;
    return set(c, Config::kProxyPkey, [&](Config &k) {
        k.proxy_pkey_path.clear();
        k.proxy_pkey_data.assign(std::string_view(static_cast<const char *>(data), len));
        k.proxy_has_passphrase = passphrase != nullptr;
        k.proxy_passphrase.assign(passphrase ? passphrase : "");
        return PSSH_OK;
    });
}

} // extern "C"
