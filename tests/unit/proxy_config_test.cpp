// Proxy configuration: the -J chain's syntax, and what each hop inherits
// from its host (user, credentials, settings) or takes of its own.
#include "net/jumpspec.hpp"
#include "ssh/client.hpp"
#include "ssh/loop.hpp"
#include "util/errors.hpp"
#include "support.hpp"

using pssh::Config;
using pssh::HostSpec;
using pssh::parse_jump_spec;
using pssh::Ref;
using pssh::Settings;

Test(proxy_config, jump_chains_parse)
{
    std::vector<HostSpec> hops;
    std::string why;
    cr_assert(parse_jump_spec("", hops, &why) && hops.empty());
    cr_assert(parse_jump_spec("bastion", hops, &why), "%s", why.c_str());
    cr_assert(hops.size() == 1 && hops[0].host == "bastion" && hops[0].port == 0 && hops[0].user.empty());
    cr_assert(parse_jump_spec("ops@a.example:2222,[::1]:22,b", hops, &why), "%s", why.c_str());
    cr_assert_eq(hops.size(), 3u);
    cr_expect(hops[0].user == "ops" && hops[0].host == "a.example" && hops[0].port == 2222);
    cr_expect(hops[1].host == "::1" && hops[1].port == 22);
    cr_expect(hops[2].host == "b" && hops[2].port == 0);
}

Test(proxy_config, bad_chains_name_the_hop)
{
    std::vector<HostSpec> hops;
    std::string why;
    cr_expect(!parse_jump_spec("a,,b", hops, &why) && hops.empty());
    cr_expect(why.find("hop 2") != std::string::npos, "%s", why.c_str());
    cr_expect(!parse_jump_spec("a,b:99999", hops, &why));
    cr_expect(why.find("hop 2 ('b:99999')") != std::string::npos, "%s", why.c_str());
    cr_expect(!parse_jump_spec("a,", hops, &why));
    cr_expect(!parse_jump_spec("a,b,c,d,e,f,g,h,i", hops, &why));
    cr_expect(why.find("more than 8") != std::string::npos, "%s", why.c_str());
}

namespace {

Ref<Settings> settings(const char *host, const Config &base, const Config *over = nullptr)
{
    Ref<Settings> st;
    std::string why;
    pssh_err err;
    // The loop matters only for ssh_config files, which these configs lack.
    auto loop = Ref<pssh::Loop>::adopt(pssh::Loop::create(&err));
    cr_assert(loop, "loop: %s", pssh::error_name(err));
    cr_assert_eq(pssh::build_settings(*loop, host, &base, over, st, &why), PSSH_OK, "%s", why.c_str());
    return st;
}

Config with_proxy(const char *jump)
{
    Config c;
    cr_assert(parse_jump_spec(jump, c.proxy, nullptr));
    c.set |= Config::kProxy;
    return c;
}

} // namespace

// Port 22 unless said (not the host's port); user and credentials the
// host's unless the proxy_* fields are set; the rest the host's.
Test(proxy_config, hops_inherit_from_their_host)
{
    Config base = with_proxy("jump1,jump2:2200");
    base.password.value = "secret";
    base.set |= Config::kPassword;
    base.keepalive_s = 7;
    base.set |= Config::kKeepalive;
    base.retries = 3;
    base.set |= Config::kRetries;
    Ref<Settings> st = settings("alice@target:2222", base);
    cr_assert_eq(st->proxies.size(), 2u);
    const pssh::ProxyHop &a = st->proxies[0], &b = st->proxies[1];
    cr_expect(a.host == "jump1" && a.port == 22, "%s:%d", a.host.c_str(), a.port);
    cr_expect(b.host == "jump2" && b.port == 2200);
    cr_expect(a.user == "alice" && b.user == "alice", "the target's user");
    cr_expect(a.cfg.password.value == "secret", "the target's password");
    cr_expect(a.cfg.keepalive_s == 7);
    cr_expect(a.cfg.retries == 0, "the host's attempts retry the hop");
    cr_expect(a.cfg.proxy.empty());
    cr_expect(a.display == "proxy alice@jump1:22", "%s", a.display.c_str());
}

Test(proxy_config, proxy_fields_apply_to_every_hop_without_its_own)
{
    Config base = with_proxy("jump1,bob@jump2:2200");
    base.proxy_port = 2022;
    base.proxy_user = "ops";
    base.proxy_password.value = "hop-secret";
    base.proxy_pkey_path = "/keys/hop";
    base.set |= Config::kProxyPort | Config::kProxyUser | Config::kProxyPassword | Config::kProxyPkey;
    Ref<Settings> st = settings("target", base);
    const pssh::ProxyHop &a = st->proxies[0], &b = st->proxies[1];
    cr_expect(a.port == 2022 && a.user == "ops");
    cr_expect(b.port == 2200 && b.user == "bob", "the hop's own user@ and :port win");
    cr_expect(a.cfg.password.value == "hop-secret" && a.cfg.pkey_path == "/keys/hop" && a.cfg.has(Config::kPkey));
    cr_expect(st->cfg.password.value.empty() && st->cfg.pkey_path.empty(), "the target keeps its own");
}

// A set field wins, "" (direct) included: per-host overrides as for every
// other field.
Test(proxy_config, per_host_override_and_direct)
{
    Config base = with_proxy("jump1");
    Config direct;
    direct.set |= Config::kProxy; // set to nothing
    Config other = with_proxy("jump9:9");
    cr_expect(settings("h", base)->proxies.size() == 1);
    cr_expect(settings("h", base, &direct)->proxies.empty());
    Ref<Settings> o = settings("h", base, &other);
    cr_expect(o->proxies.size() == 1 && o->proxies[0].host == "jump9" && o->proxies[0].port == 9);
    Config unset; // sets nothing: the default stays
    cr_expect(settings("h", base, &unset)->proxies.size() == 1);
}
