// From ssh_config to a host's settings (build_settings): what the files set
// lands in the connection's settings, a value set through the API or in
// the host string wins, HostName changes where to connect but not the
// host's name, and each warning is given once per loop.
#include "config/ssh_config_apply.hpp"
#include "ssh/client.hpp"
#include "net/jumpspec.hpp"
#include "support.hpp"

#include <unistd.h>

using pssh::Config;
using pssh::Ref;
using pssh::Settings;

namespace {

std::vector<std::string> logged;

void capture(pssh_log_level level, const char *msg, void *)
{
    if (level == PSSH_LOG_WARN)
        logged.push_back(msg);
}

struct Fixture {
    unit::TempDir dir;
    Ref<pssh::Loop> loop;
    Config base;

    explicit Fixture(const std::string &config)
    {
        pssh_err err;
        loop = Ref<pssh::Loop>::adopt(pssh::Loop::create(&err));
        cr_assert(loop);
        loop->set_log(PSSH_LOG_WARN, capture, nullptr);
        logged.clear();
        cr_assert(unit::write_file(dir.file("config"), config));
        base.ssh_config_files = {dir.file("config")};
        base.set |= Config::kSshConfig;
    }

    Ref<Settings> settings(const std::string &host, const Config *over = nullptr, pssh_err want = PSSH_OK,
                           std::string *why_out = nullptr)
    {
        Ref<Settings> st;
        std::string why;
        pssh_err rc = pssh::build_settings(*loop, host, &base, over, st, &why);
        cr_assert_eq(rc, want, "%s: rc %d, want %d (%s)", host.c_str(), rc, want, why.c_str());
        if (why_out)
            *why_out = why;
        return st;
    }
};

} // namespace

Test(ssh_config_apply, file_values_reach_the_settings)
{
    Fixture f("Host web*\n"
              "  HostName %h.Example.COM\n  User deploy\n  Port 2222\n"
              "  IdentityFile ~/.ssh/id_%h\n  IdentityFile /keys/%r\n  IdentitiesOnly yes\n"
              "  ConnectTimeout 1m\n  ConnectionAttempts 4\n  StrictHostKeyChecking accept-new\n"
              "  UserKnownHostsFile /kh/%h_%p\n  ServerAliveInterval 15\n  Compression yes\n");
    Ref<Settings> st = f.settings("web1");
    EXPECT_STR_EQ(st->host, "web1.example.com"); // where to connect
    EXPECT_STR_EQ(st->display, "web1");          // the host keeps its name
    EXPECT_STR_EQ(st->given, "web1");
    EXPECT_STR_EQ(st->user, "deploy");
    cr_expect_eq(st->port, 2222);
    const Config &c = st->cfg;
    cr_expect_eq(c.config_identity_files.size(), 2u);
    std::string home;
    cr_assert(pssh::ssh_tilde_expand("~", home, nullptr));
    EXPECT_STR_EQ(c.config_identity_files[0], home + ".ssh/id_web1.example.com");
    EXPECT_STR_EQ(c.config_identity_files[1], "/keys/deploy");
    cr_expect(!c.agent);
    cr_expect_eq(c.timeout_ms, 60000);
    cr_expect_eq(c.retries, 3);
    cr_expect_eq(c.retry_delay_ms, 1000);
    cr_expect_eq(c.policy, PSSH_HOSTKEY_ACCEPT_NEW);
    EXPECT_STR_EQ(c.known_hosts, "/kh/web1.example.com_2222");
    cr_expect_eq(c.keepalive_s, 15);
    cr_expect(c.compress);
    cr_expect(logged.empty(), "unexpected warning: %s", logged.empty() ? "" : logged[0].c_str());
}

Test(ssh_config_apply, hosts_the_files_do_not_name_keep_the_defaults)
{
    Fixture f("Host web*\n  User deploy\n  Port 2222\n");
    Ref<Settings> st = f.settings("db");
    const Config defaults = pssh::builtin_defaults();
    EXPECT_STR_EQ(st->host, "db");
    EXPECT_STR_EQ(st->user, defaults.user);
    cr_expect_eq(st->port, 22);
    cr_expect_eq(st->cfg.timeout_ms, defaults.timeout_ms);
    cr_expect_eq(st->cfg.retries, defaults.retries);
    cr_expect_eq(st->cfg.policy, defaults.policy);
    cr_expect(st->cfg.config_identity_files.empty());
}

Test(ssh_config_apply, the_api_and_the_host_string_win)
{
    Fixture f("Host *\n  User fileuser\n  Port 2222\n  ConnectTimeout 5\n  Compression yes\n"
              "  IdentityFile /keys/file\n  StrictHostKeyChecking no\n"
              "Match user apiuser\n  ServerAliveInterval 7\n");
    // As ssh -l and -p: given user and port win, and Match user sees them.
    f.base.user = "apiuser";
    f.base.port = 2022;
    f.base.timeout_ms = 1234;
    f.base.compress = false;
    f.base.set |= Config::kUser | Config::kPort | Config::kTimeout | Config::kCompress;
    Ref<Settings> st = f.settings("web1");
    EXPECT_STR_EQ(st->user, "apiuser");
    cr_expect_eq(st->port, 2022);
    cr_expect_eq(st->cfg.timeout_ms, 1234);
    cr_expect(!st->cfg.compress, "false set through the API wins too");
    cr_expect_eq(st->cfg.keepalive_s, 7);
    cr_expect_eq(st->cfg.policy, PSSH_HOSTKEY_OFF);
    st = f.settings("hostuser@web1:2200");
    EXPECT_STR_EQ(st->user, "hostuser");
    cr_expect_eq(st->port, 2200);
    // A per-host config wins over the defaults and the files alike.
    Config over;
    over.policy = PSSH_HOSTKEY_STRICT;
    over.set |= Config::kPolicy;
    st = f.settings("web1", &over);
    cr_expect_eq(st->cfg.policy, PSSH_HOSTKEY_STRICT);
    // Keys given through the API replace the files' IdentityFile list.
    EXPECT_STR_EQ(f.settings("web1")->cfg.config_identity_files.at(0), "/keys/file");
    f.base.identity_files = {"/api/key"};
    f.base.set |= Config::kIdentities;
    cr_expect(f.settings("web1")->cfg.config_identity_files.empty());
}

Test(ssh_config_apply, a_per_host_list_replaces_the_files)
{
    Fixture f("Host *\n  User fileuser\n");
    Config over;
    over.set |= Config::kSshConfig; // an empty list: no file for this host
    Ref<Settings> st = f.settings("web1", &over);
    EXPECT_STR_EQ(st->user, pssh::builtin_defaults().user);
    EXPECT_STR_EQ(f.settings("web1")->user, "fileuser");
}

Test(ssh_config_apply, each_warning_once_per_loop)
{
    Fixture f("Host *\n  ProxyJump bastion\n  ForwardAgent yes\n  LogLevel DEBUG3\n  SendEnv LANG\n"
              "  NoSuchKeyword x\n  UserKnownHostsFile /a /b\n");
    Ref<Settings> st = f.settings("web1");
    EXPECT_STR_EQ(st->cfg.proxy_jump, "bastion");
    EXPECT_STR_EQ(st->host, "web1");
    EXPECT_STR_EQ(st->cfg.known_hosts, "/a");
    f.settings("web2");
    f.settings("web3");
    cr_assert_eq(logged.size(), 2u, "got %zu warnings", logged.size());
    std::string all;
    for (const std::string &l : logged)
        all += l + "\n";
    cr_expect(all.find("ProxyJump") == std::string::npos, "%s", all.c_str());
    cr_expect(all.find("line 3: ForwardAgent is not supported by libpssh: ignored") != std::string::npos, "%s",
              all.c_str());
    cr_expect(all.find("UserKnownHostsFile: only the first file is read (/a)") != std::string::npos, "%s",
              all.c_str());
}

Test(ssh_config_apply, errors_name_the_file_and_line)
{
    Fixture f("Host *\n  Port 99999\n");
    std::string why;
    f.settings("web1", nullptr, PSSH_E_HOST_ARG, &why);
    cr_expect(why.find("ssh_config: " + f.dir.file("config") + " line 2: Bad port '99999'") == 0, "%s",
              why.c_str());
    cr_assert(unit::write_file(f.dir.file("config"), "Include " + f.dir.file("bad.conf") + "\n"));
    cr_assert(unit::write_file(f.dir.file("bad.conf"), "User x\n"));
    chmod(f.dir.file("bad.conf").c_str(), 0666);
    f.settings("web1", nullptr, PSSH_E_IO, &why);
    cr_expect(why.find("bad owner or permissions on " + f.dir.file("bad.conf")) != std::string::npos, "%s",
              why.c_str());
    // A missing file is skipped, as ssh skips its default files.
    f.base.ssh_config_files = {f.dir.file("nothing-here")};
    EXPECT_STR_EQ(f.settings("web1")->host, "web1");
    // A malformed host says so as before.
    f.settings("bad host", nullptr, PSSH_E_HOST_ARG, &why);
    cr_expect(why.find("malformed host 'bad host'") == 0, "%s", why.c_str());
}

// ProxyJump reaches the host through its hops (pssh_config_set_proxy), the
// API's proxy winning as for every field.
Test(ssh_config_apply, proxy_jump_becomes_the_proxy)
{
    Fixture f("Host *\n  ProxyJump jumper@bastion:2200,10.0.0.1\n");
    Ref<Settings> st = f.settings("web1");
    cr_assert_eq(st->cfg.proxy.size(), 2u);
    EXPECT_STR_EQ(st->cfg.proxy[0].host, "bastion");
    EXPECT_STR_EQ(st->cfg.proxy[0].user, "jumper");
    cr_assert_eq(st->cfg.proxy[0].port, 2200);
    EXPECT_STR_EQ(st->cfg.proxy[1].host, "10.0.0.1");
    cr_assert(logged.empty(), "%s", logged.empty() ? "" : logged[0].c_str());
    pssh::Config over;
    cr_assert(pssh::parse_jump_spec("api-hop", over.proxy, nullptr));
    over.set |= pssh::Config::kProxy;
    Ref<Settings> api = f.settings("web2", &over);
    cr_assert_eq(api->cfg.proxy.size(), 1u);
    EXPECT_STR_EQ(api->cfg.proxy[0].host, "api-hop");
}
