#include "ssh_config_apply.hpp"

#include "../net/jumpspec.hpp"
#include "../ssh/loop.hpp"
#include "ssh_expand.hpp"

#include <cctype>
#include <climits>
#include <strings.h>

namespace pssh {

namespace {

std::string lower(std::string s)
{
    for (char &c : s)
        c = char(tolower(static_cast<unsigned char>(c)));
    return s;
}

// One warning per keyword, saying what libpssh does instead.
void warn_ignored(const SshOptions::Ignored &i, const SshWarn &warn)
{
    const std::string key = lower(i.keyword);
    std::string what;
    if (key == "match exec")
        what = "Match exec is not supported: its block is skipped";
    else
        what = i.keyword + " is not supported by libpssh: ignored";
    warn(key, "ssh_config: " + i.where + ": " + what);
}

} // namespace

pssh_err ssh_config_settings(SshConfigCache &cache, const std::vector<std::string> &files, const SshQuery &q,
                             const Config &api, Config &out, std::string &connect_host, const SshWarn &warn,
                             std::string *why)
{
    SshResolved r;
    if (pssh_err rc = resolve_ssh_config(cache, files, q, r, why); rc != PSSH_OK)
        return rc;
    const SshOptions &o = r.got;
    out = Config{};
    connect_host = r.hostname;
    if (q.user.empty() && o.user) {
        out.user = r.user;
        out.set |= Config::kUser;
    }
    if (!q.port && o.port > 0) {
        out.port = o.port;
        out.set |= Config::kPort;
    }
    // Keys given through the API replace the files' IdentityFile list, and
    // a list from the files replaces ssh's and libpssh's default keys.
    if (!o.identity_files.empty() && !api.has(Config::kPkey) && !api.has(Config::kIdentities)) {
        if (!ssh_identity_paths(r, out.config_identity_files, why))
            return PSSH_E_HOST_ARG;
        out.set |= Config::kConfigIds;
    }
    if (o.identities_only == 1) { // only the named keys: not the agent's
        out.agent = false;
        out.set |= Config::kAgent;
    }
    if (o.connect_timeout >= 0) {
        out.timeout_ms = o.connect_timeout > INT_MAX / 1000 ? INT_MAX : o.connect_timeout * 1000;
        out.set |= Config::kTimeout;
    }
    if (o.connection_attempts > 0) { // ssh tries once a second
        out.retries = o.connection_attempts - 1;
        out.retry_delay_ms = 1000;
        out.set |= Config::kRetries;
    }
    if (o.strict != -1) {
        // "no" checks nothing (ssh then only records new keys); "ask"
        // cannot ask in a batch: strict.
        out.policy = o.strict == kStrictNew   ? PSSH_HOSTKEY_ACCEPT_NEW
                     : o.strict == kStrictOff ? PSSH_HOSTKEY_OFF
                                              : PSSH_HOSTKEY_STRICT;
        out.set |= Config::kPolicy;
    }
    if (!o.known_hosts.empty()) {
        if (strcasecmp(o.known_hosts[0].c_str(), "none") == 0) {
            warn("userknownhostsfile none",
                 "ssh_config: UserKnownHostsFile none is not supported: the default known_hosts is used");
        } else {
            out.known_hosts = r.known_hosts[0];
            out.set |= Config::kKnownHosts;
            if (r.known_hosts.size() > 1)
                warn("userknownhostsfile",
                     "ssh_config: UserKnownHostsFile: only the first file is read (" + r.known_hosts[0] + ")");
        }
    }
    if (o.server_alive_interval >= 0) {
        out.keepalive_s = o.server_alive_interval;
        out.set |= Config::kKeepalive;
    }
    if (o.compression >= 0) {
        out.compress = o.compression == 1;
        out.set |= Config::kCompress;
    }
    if (!r.proxy_jump.empty()) {
        out.proxy_jump = r.proxy_jump;
        out.set |= Config::kProxyJump;
        std::string bad;
        if (parse_jump_spec(r.proxy_jump, out.proxy, &bad))
            out.set |= Config::kProxy; // under the API's proxy, like every field
        else
            warn("proxyjump", "ssh_config: ProxyJump " + r.proxy_jump + ": " + bad + ": " + q.host +
                                  " is reached directly");
    }
    for (const SshOptions::Ignored &i : o.ignored)
        warn_ignored(i, warn);
    return PSSH_OK;
}

pssh_err ssh_config_for(Loop &loop, const HostSpec &spec, const Config &api, Config &from_files,
                        std::string &connect_host, std::string *why)
{
    // "~/" is the home directory as ssh finds it, from the password
    // database (not $HOME), the same as a "~" inside the files.
    std::vector<std::string> files;
    for (const std::string &f : api.ssh_config_files) {
        std::string path = f;
        if (f.rfind("~/", 0) == 0 && !ssh_tilde_expand(f, path, why))
            return PSSH_E_HOST_ARG;
        files.push_back(std::move(path));
    }
    SshQuery q;
    q.host = spec.host;
    q.user = !spec.user.empty() ? spec.user : api.has(Config::kUser) ? api.user : std::string();
    q.port = spec.port ? spec.port : api.has(Config::kPort) ? api.port : 0;
    SshConfigCache &cache = loop.ssh_configs();
    auto warn = [&](const std::string &key, const std::string &text) {
        if (cache.first_time(key))
            loop.log(PSSH_LOG_WARN, "%s", text.c_str());
    };
    return ssh_config_settings(cache, files, q, api, from_files, connect_host, warn, why);
}

} // namespace pssh
