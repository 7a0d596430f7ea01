// ssh_config resolution against the reference: for every case, what
// libpssh resolves for the keywords it maps must be exactly what OpenSSH's
// `ssh -G -F FILE HOST` prints (or both must refuse the configuration).
// Hand-written hard cases, then configurations generated at random from a
// fixed seed.
#include "ssh_config_support.hpp"

#include <cstdint>
#include <cstdlib>

using unit::SshCase;

namespace {

bool have_ssh()
{
    return unit::run({"sh", "-c", "command -v ssh >/dev/null"}).status == 0;
}

int mismatches = 0;

void expect_same(const SshCase &c)
{
    const unit::SshAnswers a = unit::ssh_answers(c);
    if (a.ours == a.theirs)
        return;
    mismatches++;
    cr_expect(false, "%s\n=== ssh -G says:\n%s\n=== libpssh says:\n%s %s", unit::describe(c).c_str(),
              a.theirs.c_str(), a.ours.c_str(), a.why.c_str());
}

void expect_same(const std::string &config, const std::string &host, const std::string &user = "", int port = 0)
{
    expect_same(SshCase{config, {}, host, user, port});
}

} // namespace

TestSuite(ssh_config_conformance, .timeout = 600);

Test(ssh_config_conformance, host_patterns)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    const char *cfg = "Host web* !web2\n  User w\n"
                      "Host ?b db.example.*\n  User d\n  Port 2200\n"
                      "Host WEB1\n  User upper\n"
                      "Host *.example.com *.EXAMPLE.org\n  HostName real-%h\n"
                      "Host *\n  User fallback\n  Port 22\n";
    for (const char *h : {"web1", "web2", "web10", "WEB1", "db", "db.example.com", "ab", "x.example.com",
                          "x.EXAMPLE.org", "x.example.org", "other", "w"})
        expect_same(cfg, h);
    // A negated pattern alone never selects; a comma is literal in Host.
    expect_same("Host !web1\n  User n\nHost web2,web3\n  User comma\n", "web2");
    expect_same("Host !web1 *\n  User n\n", "web1");
    expect_same("Host !web1 *\n  User n\n", "web3");
    // '*' and '?' runs.
    expect_same("Host **a*?*\n  User stars\n", "xay");
    expect_same("Host **a*?*\n  User stars\n", "xa");
    expect_same("Host \"\"\n  User empty\n", "x");
}

Test(ssh_config_conformance, first_value_wins)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    const char *cfg = "Port 1111\n"
                      "Host web1\n  Port 2222\n  User one\n  IdentityFile ~/.ssh/one\n"
                      "Host web*\n  Port 3333\n  User two\n  IdentityFile ~/.ssh/two\n  IdentityFile ~/.ssh/one\n"
                      "Host *\n  User three\n  ConnectTimeout 5\n  ConnectTimeout 9\n";
    expect_same(cfg, "web1");
    expect_same(cfg, "web2");
    expect_same(cfg, "db");
    // Given on the command line (with the host, or through the API): wins.
    expect_same(cfg, "web1", "carol", 2022);
    // "none" leaves a time unset, so a later line still sets it.
    expect_same("Host *\n  ConnectTimeout none\n  ConnectTimeout 7\n  ServerAliveInterval none\n", "x");
}

Test(ssh_config_conformance, match_blocks)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    const char *cfg = "Host alias\n  HostName Real.Example.COM\n"
                      "Match host *.example.com user root\n  Port 2001\n"
                      "Match originalhost alias\n  User orig\n"
                      "Match !host db*,web*\n  ConnectionAttempts 3\n"
                      "Match host db*,!db2\n  IdentityFile ~/.ssh/db\n"
                      "Match user bob\n  Compression yes\n"
                      "Match localuser root\n  ServerAliveInterval 15\n"
                      "Match all\n  StrictHostKeyChecking accept-new\n";
    for (const char *h : {"alias", "db1", "db2", "web1", "x.example.com", "X.EXAMPLE.COM"})
        expect_same(cfg, h);
    expect_same(cfg, "db1", "bob");
    expect_same(cfg, "alias", "bob");
    expect_same("Match !all\n  User a\n", "x");
    expect_same("Match host x all\n  User a\n", "x");
    expect_same("Match host y all\n  User a\n", "x");
    expect_same("Match canonical all\n  User a\n", "x");
    expect_same("Match canonical\n  User a\n", "x");
    // The user Match sees is the one obtained so far.
    expect_same("Host *\n  User early\nMatch user early\n  Port 4444\n", "x");
    // Match host sees HostName with %h expanded.
    expect_same("Host a\n  HostName %h.Zone\nMatch host a.zone\n  User z\n", "a");
}

Test(ssh_config_conformance, final_pass)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    // "Match final" reads everything again once HostName is known.
    const char *cfg = "Match final host real*\n  User finaluser\n"
                      "Host short\n  HostName REAL-%h\n"
                      "Match canonical\n  Port 2345\n"
                      "Host *\n  ConnectionAttempts 2\n";
    expect_same(cfg, "short");
    expect_same(cfg, "other");
    expect_same("Host *\n  CanonicalizeHostname yes\nMatch canonical\n  User canon\n", "x");
    expect_same("Host *\n  CanonicalizeHostname no\nMatch canonical\n  User canon\n", "x");
    expect_same("Match !final\n  User notfinal\nMatch final\n  Port 1234\n", "x");
    // The second pass matches Host lines against the final name.
    expect_same("Host a\n  HostName B.x\nMatch final\nHost b.x\n  User z\nHost a\n  Port 23\n", "a");
    expect_same("Match final\nHost web?\n  User z\n", "WEB1");
}

Test(ssh_config_conformance, values)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    expect_same("Host *\n  ConnectTimeout 1h2m3s\n  ServerAliveInterval 1W\n", "x");
    expect_same("Host *\n  ConnectTimeout 0\n  ServerAliveInterval 0\n", "x");
    expect_same("Host *\n  ConnectTimeout 2147483647\n", "x");
    expect_same("Host *\n  ConnectTimeout 2147483648\n", "x");
    expect_same("Host *\n  ConnectTimeout 5x\n", "x");
    expect_same("Host *\n  ConnectTimeout -1\n", "x");
    expect_same("Host *\n  ConnectTimeout 1m1m\n", "x");
    expect_same("Host *\n  ConnectionAttempts 0\n", "x");
    expect_same("Host *\n  ConnectionAttempts -1\n", "x");
    expect_same("Host *\n  ConnectionAttempts 1x\n", "x");
    expect_same("Host *\n  Port ssh\n", "x");
    expect_same("Host *\n  Port 0\n", "x");
    expect_same("Host *\n  Port 65536\n", "x");
    expect_same("Host *\n  Port 022\n", "x");
    expect_same("Host *\n  Port +22\n", "x");
    expect_same("Host *\n  Port nosuchservice\n", "x");
    for (const char *v : {"yes", "no", "ask", "off", "accept-new", "true", "false", "ACCEPT-NEW", "maybe"})
        expect_same(std::string("Host *\n  StrictHostKeyChecking ") + v + "\n", "x");
    for (const char *v : {"yes", "no", "YES", "true", "delayed"})
        expect_same(std::string("Host *\n  Compression ") + v + "\n", "x");
    for (const char *v : {"yes", "no", "true", "False", "2"})
        expect_same(std::string("Host *\n  IdentitiesOnly ") + v + "\n", "x");
    expect_same("Host *\n  User a b\n", "x");
    expect_same("Host *\n  User\n", "x");
    expect_same("Host *\n  User # only a comment\n", "x");
    expect_same("Host *\n  User %u\n", "x"); // 9.2 does not expand User
}

Test(ssh_config_conformance, hostname_and_expansions)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    expect_same("Host *\n  HostName %h.Example.COM\n", "Web1");
    expect_same("Host *\n  HostName %%h\n", "x");
    expect_same("Host *\n  HostName %p\n", "x");
    expect_same("Host *\n  HostName a%\n", "x");
    expect_same("Host *\n  HostName 0:0::1\n", "x");
    expect_same("Host *\n  HostName 127.1\n", "x");
    expect_same("Host *\n  HostName FE80::A\n", "x");
    expect_same("Host *\n  UserKnownHostsFile ~/kh_%h_%p_%r_%u_%n_%k_%d_%i_%L_%l_%C %%x\n  HostName H.%h\n",
                "Web1", "bob", 2200);
    expect_same("Host *\n  UserKnownHostsFile ${HOME}/kh ~root/kh2 ~/\n", "x");
    expect_same("Host *\n  UserKnownHostsFile ${PSSH_NO_SUCH_VAR}/kh\n", "x");
    expect_same("Host *\n  UserKnownHostsFile %j\n", "x");
    expect_same("Host *\n  UserKnownHostsFile none\n", "x");
    expect_same("Host *\n  UserKnownHostsFile none ~/x\n", "x");
    expect_same("Host *\n  UserKnownHostsFile ~/a\n  UserKnownHostsFile ~/b\n", "x");
    expect_same("Host *\n  HostKeyAlias ali\n  UserKnownHostsFile /kh_%k\n", "x");
    expect_same("Host *\n  IdentityFile ~/.ssh/id_%h\n  IdentityFile ${HOME}/k\n  IdentityFile ~/.ssh/id_%h\n", "x");
}

Test(ssh_config_conformance, syntax)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    expect_same("# comment\n\n   \t\nHOST=*\n\tuSeR=bob\n  Port = 2200\nhostname\t\"quoted name\"\n", "x");
    expect_same("Host *\n  User \"spaced user\"\n", "x");
    expect_same("Host *\n  User 'single'\n", "x");
    expect_same("Host *\n  User \"open\n", "x");
    expect_same("Host *\n  User a\\ b\n", "x");
    expect_same("Host *\n  User bob # trailing comment\n", "x");
    expect_same("Host *\n  User bob#notacomment\n", "x");
    expect_same("Host * # comment\n  User c\n", "x");
    expect_same("Host # nothing\n  User c\n", "x");
    expect_same("Host\n", "x");
    expect_same("Host *\n  Port==22\n", "x");
    expect_same("Host *\r\n  User crlf\r\n", "x");
    expect_same("\"User\" quotedkeyword\n", "x");
    expect_same("Match\n", "x");
    expect_same("Match # c\n", "x");
    expect_same("Match # c\n  User a\n", "x");
    expect_same("Match host\n", "x");
    expect_same("Match foo bar\n", "x");
    expect_same("Match all host x\n", "x");
    expect_same("Match host x user y all\n", "x");
}

Test(ssh_config_conformance, proxy_jump_is_kept)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    for (const char *v : {"bastion", "u@j:2222", "a,b@c:22", "ssh://u@h:5,ssh://z", "[::1]:22", "10.0.0.9",
                          "none", "a,,b", "u@", "@h", "::1", "h:0", "x", "u@x", "x:23", "a b"})
        expect_same(std::string("Host *\n  ProxyJump ") + v + "\n", "x");
    expect_same("Host *\n  ProxyCommand nc %h %p\n  ProxyJump j\n", "x");
    expect_same("Host *\n  ProxyJump j\n  ProxyCommand nc %h %p\n", "x");
    expect_same("Host *\n  ProxyCommand none\n  ProxyJump j\n", "x");
    expect_same("Host *\n  ProxyJump none\n  ProxyJump j\n", "x");
}

Test(ssh_config_conformance, include)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    SshCase c;
    c.config = "Include @DIR@/inc_*.conf @DIR@/missing.conf\nHost *\n  User main\n";
    c.files = {{"inc_a.conf", "Host web*\n  User fromA\nPort 2001\n"},
               {"inc_b.conf", "Port 2002\nHost db\n  HostName db.%h.internal\n  Include @DIR@/deep.conf\n"},
               {"deep.conf", "User deep\nIdentityFile ~/.ssh/deep\n"}};
    for (const char *h : {"web1", "db", "other"}) {
        c.host = h;
        expect_same(c);
    }
    // An Include inside a block that does not apply reads nothing from it.
    c.config = "Host nomatch\n  Include @DIR@/inc_a.conf\nHost *\n  User main\n";
    c.host = "web1";
    expect_same(c);
    // Blocks of an included file do not leak out of it.
    c.config = "Host web1\n  Include @DIR@/inc_b.conf\n  Port 3000\n";
    expect_same(c);
    // A relative Include lives in ~/.ssh (here: a file that is not there).
    c.config = "Include pssh-no-such-file-*.conf\nUser rel\n";
    expect_same(c);
    // A loop is refused, at ssh's depth.
    c.config = "Include @DIR@/loop.conf\n";
    c.files = {{"loop.conf", "Include @DIR@/loop.conf\n"}};
    expect_same(c);
    // A bad line in an included file spoils everything, applied or not.
    c.config = "Host nomatch\n  Include @DIR@/bad.conf\n";
    c.files = {{"bad.conf", "Port 99999\n"}};
    expect_same(c);
}

// The one deliberate difference: ssh refuses a keyword it does not know;
// libpssh ignores it (the issue asks for that: configuration files written
// for other or newer clients stay usable).
Test(ssh_config_conformance, unknown_keywords_are_ignored)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    SshCase c{"NoSuchKeyword whatever\nUser after\n", {}, "x", "", 0};
    const unit::SshAnswers a = unit::ssh_answers(c);
    EXPECT_STR_EQ(a.theirs, "ERROR");
    cr_expect(a.ours.find("user after\n") != std::string::npos, "libpssh: %s", a.ours.c_str());
}

// ---------------------------------------------------------------------------
// Random configurations from a fixed seed: Host and Match blocks over a pool
// of hosts and patterns, every mapped keyword with ordinary and odd values,
// the syntax variants ssh accepts, Includes (globs, nesting, in blocks that
// apply or not), queried for several hosts, with and without -l and -p.
// PSSH_SSH_CONFIG_CASES=N runs N configurations per test instead.

namespace {

class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next()
    {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return size_t(next() % n); }
    bool chance(int percent) { return below(100) < size_t(percent); }
    template <size_t N> const char *pick(const char *const (&v)[N]) { return v[below(N)]; }

private:
    uint64_t s_;
};

const char *const kHosts[] = {"web1", "web2",  "web10", "WEB1",       "db",   "db.example.com", "db.example.org",
                              "node7", "n1.rack2.dc", "10.0.0.5", "a", "xyz", "Mixed.Case.Net"};
const char *const kPatterns[] = {"*",     "web*",       "*.example.com", "web?",       "?b",   "db*", "*1",
                                 "n*.dc", "WEB*",       "10.0.0.*",      "*.*",        "w*b*", "web1", "db",
                                 "a",     "xyz",        "mixed.case.net", "Mixed.Case.Net", "*.net", "*b*"};
const char *const kUserPatterns[] = {"root", "bob", "al*", "*", "r??t", "carol", "b*"};

struct Value {
    const char *keyword;
    std::vector<const char *> values;
};

const std::vector<Value> &values()
{
    static const std::vector<Value> v = {
        {"User", {"bob", "alice", "root", "u%h", "deploy"}},
        {"HostName", {"%h.example.com", "real-%h", "10.1.2.3", "%h", "Upper.%h.NET", "127.0.0.1", "%%h", "db.internal"}},
        {"Port", {"22", "2222", "ssh", "65535", "1", "0022"}},
        {"IdentityFile", {"~/.ssh/id_%h", "/keys/%r@%h:%p", "${HOME}/.ssh/k", "id_plain", "~/.ssh/id_ed25519", "/k/%%x"}},
        {"IdentitiesOnly", {"yes", "no", "true", "false", "YES"}},
        {"ConnectTimeout", {"5", "1m", "none", "0", "1h2m3s", "30s", "2W"}},
        {"ConnectionAttempts", {"1", "2", "3", "10"}},
        {"StrictHostKeyChecking", {"yes", "no", "ask", "off", "accept-new", "true", "false", "Accept-New"}},
        {"UserKnownHostsFile", {"~/kh_%h", "%d/kh %d/kh2", "/tmp/kh_%n_%p_%r", "none", "${HOME}/kh_%k", "~/a ~/b ~/c", "/kh_%C_%u_%i_%L_%l"}},
        {"ServerAliveInterval", {"10", "0", "1m", "none"}},
        {"Compression", {"yes", "no", "YES"}},
        {"ProxyJump", {"bastion", "u@jump:2222", "a,b@c:22", "none", "10.0.0.9"}},
        {"ProxyCommand", {"none", "nc %h %p"}},
        {"HostKeyAlias", {"alias1", "alias2"}},
    };
    return v;
}

std::string keyword_case(Rng &r, const std::string &k)
{
    std::string out = k;
    switch (r.below(4)) {
    case 0:
        for (char &c : out)
            c = char(tolower(c));
        break;
    case 1:
        for (char &c : out)
            c = char(toupper(c));
        break;
    default:
        break;
    }
    return out;
}

std::string line(Rng &r, const std::string &keyword, const std::string &value, bool indent)
{
    static const char *const seps[] = {" ", "=", " = ", "\t", "  "};
    std::string v = value;
    if (v.find(' ') == std::string::npos && r.chance(10))
        v = "\"" + v + "\"";
    std::string s = indent ? (r.chance(50) ? "  " : "\t") : "";
    s += keyword_case(r, keyword) + r.pick(seps) + v;
    if (r.chance(8))
        s += " # a comment";
    return s + "\n";
}

std::string host_line(Rng &r)
{
    std::string s = "Host";
    const size_t n = 1 + r.below(3);
    for (size_t i = 0; i < n; i++)
        s += std::string(" ") + (r.chance(20) ? "!" : "") + r.pick(kPatterns);
    return s + "\n";
}

std::string pattern_list(Rng &r, const char *const *pool, size_t size)
{
    std::string s;
    const size_t n = 1 + r.below(3);
    for (size_t i = 0; i < n; i++)
        s += std::string(i ? "," : "") + (r.chance(20) ? "!" : "") + pool[r.below(size)];
    return s;
}

std::string match_line(Rng &r)
{
    switch (r.below(9)) {
    case 0:
        return "Match all\n";
    case 1:
        return "Match host " + pattern_list(r, kPatterns, std::size(kPatterns)) + "\n";
    case 2:
        return "Match originalhost " + pattern_list(r, kPatterns, std::size(kPatterns)) + "\n";
    case 3:
        return "Match user " + pattern_list(r, kUserPatterns, std::size(kUserPatterns)) + "\n";
    case 4:
        return "Match !host " + std::string(r.pick(kPatterns)) + " user " + r.pick(kUserPatterns) + "\n";
    case 5:
        return "Match localuser " + pattern_list(r, kUserPatterns, std::size(kUserPatterns)) + "\n";
    case 6:
        return "Match final host " + pattern_list(r, kPatterns, std::size(kPatterns)) + "\n";
    case 7:
        return r.chance(50) ? "Match canonical\n" : "Match !canonical host " + std::string(r.pick(kPatterns)) + "\n";
    default:
        return "MATCH Host=" + std::string(r.pick(kPatterns)) + "\n";
    }
}

std::string options(Rng &r, size_t n, bool indent)
{
    std::string s;
    for (size_t i = 0; i < n; i++) {
        const Value &v = values()[r.below(values().size())];
        s += line(r, v.keyword, v.values[r.below(v.values.size())], indent);
    }
    return s;
}

// A file: a few options before any block, then blocks; `includes` names
// files it may include.
std::string file(Rng &r, const std::vector<std::string> &includes)
{
    std::string s;
    if (r.chance(40))
        s += options(r, 1 + r.below(2), false);
    const size_t blocks = 1 + r.below(5);
    for (size_t b = 0; b < blocks; b++) {
        if (r.chance(10))
            s += "\n# block " + std::to_string(b) + "\n";
        s += r.chance(60) ? host_line(r) : match_line(r);
        s += options(r, 1 + r.below(4), true);
        if (!includes.empty() && r.chance(20))
            s += "  Include " + includes[r.below(includes.size())] + "\n";
    }
    if (r.chance(50))
        s += "Host *\n" + options(r, 1 + r.below(3), true);
    return s;
}

SshCase random_case(Rng &r)
{
    SshCase c;
    std::vector<std::string> names;
    if (r.chance(35)) {
        const size_t n = 1 + r.below(3);
        for (size_t i = 0; i < n; i++)
            names.push_back("inc_" + std::to_string(i) + ".conf");
        for (size_t i = 0; i < n; i++) {
            // Later files only include earlier ones: no loops here.
            std::vector<std::string> earlier;
            for (size_t j = 0; j < i; j++)
                earlier.push_back("@DIR@/" + names[j]);
            c.files.emplace_back(names[i], file(r, earlier));
        }
    }
    std::vector<std::string> includes;
    for (const std::string &n : names)
        includes.push_back("@DIR@/" + n);
    if (!names.empty())
        includes.push_back("@DIR@/inc_*.conf");
    c.config = file(r, includes);
    if (!includes.empty() && r.chance(50))
        c.config = "Include " + includes[r.below(includes.size())] + "\n" + c.config;
    return c;
}

int cases_per_test()
{
    const char *e = getenv("PSSH_SSH_CONFIG_CASES");
    return e && atoi(e) > 0 ? atoi(e) : 60;
}

void random_cases(uint64_t seed)
{
    Rng r(seed);
    const int n = cases_per_test();
    for (int i = 0; i < n && mismatches < 5; i++) {
        SshCase c = random_case(r);
        const size_t queries = 1 + r.below(2);
        for (size_t q = 0; q < queries; q++) {
            c.host = r.pick(kHosts);
            c.user = r.chance(25) ? (r.chance(50) ? "carol" : "root") : "";
            c.port = r.chance(20) ? 2200 : 0;
            expect_same(c);
        }
    }
}

} // namespace

Test(ssh_config_conformance, random_configurations_1) { cr_assert(have_ssh()); random_cases(1); }
Test(ssh_config_conformance, random_configurations_2) { cr_assert(have_ssh()); random_cases(2); }
Test(ssh_config_conformance, random_configurations_3) { cr_assert(have_ssh()); random_cases(3); }
Test(ssh_config_conformance, random_configurations_4) { cr_assert(have_ssh()); random_cases(4); }

// ---------------------------------------------------------------------------
// IdentityFile is printed by ssh -G as written; ssh expands it (~, %x,
// ${VAR}) only when it loads the keys, after TCP is up, and says so with -v
// ("identity file PATH type N"). A listener that accepts and closes is
// enough for that.

#include "config/ssh_config.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace {

class Listener {
public:
    Listener()
    {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        cr_assert(fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 && listen(fd_, 16) == 0 &&
                  getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] {
            while (!stop_) { // bounded by the destructor's stop
                pollfd p{fd_, POLLIN, 0};
                if (poll(&p, 1, 100) == 1) {
                    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
                    if (c >= 0)
                        close(c);
                }
            }
        });
    }
    ~Listener()
    {
        stop_ = true;
        thread_.join();
        close(fd_);
    }
    int port() const { return port_; }

private:
    int fd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

std::string ssh_loaded_identities(const std::string &config_path, const std::string &host, const std::string &user)
{
    std::vector<std::string> argv = {"sh", "-c", "exec ssh -v -F \"$@\" true 2>&1", "sh", config_path,
                                     "-o", "BatchMode=yes"};
    if (!user.empty())
        argv.insert(argv.end(), {"-l", user});
    argv.push_back(host);
    unit::RunResult res = unit::run(argv, {}, 20000);
    std::istringstream in(res.out);
    std::string line, out;
    const std::string mark = "debug1: identity file ";
    while (std::getline(in, line)) {
        if (line.rfind(mark, 0) != 0)
            continue;
        std::string path = line.substr(mark.size(), line.rfind(" type ") - mark.size());
        if (path.size() < 5 || path.compare(path.size() - 5, 5, "-cert") != 0)
            out += path + "\n";
    }
    return out;
}

std::string our_identities(const std::string &config_path, const std::string &host, const std::string &user)
{
    pssh::SshConfigCache cache;
    pssh::SshResolved r;
    std::string why, out;
    std::vector<std::string> paths;
    if (pssh::resolve_ssh_config(cache, {config_path}, {host, user, 0}, r, &why) != PSSH_OK ||
        !pssh::ssh_identity_paths(r, paths, &why))
        return "ERROR " + why;
    for (const std::string &p : paths)
        out += p + "\n";
    return out;
}

} // namespace

Test(ssh_config_conformance, identity_files_expand_as_ssh_loads_them)
{
    cr_assert(have_ssh(), "the ssh client (the reference) is missing");
    Listener server;
    unit::TempDir dir;
    const std::string path = dir.file("config");
    const char *const templates[] = {
        "~/.ssh/id_%h", "%d/k_%r_%u", "/keys/%n/%p/%l/%L", "${HOME}/k_%C", "/x/%%/%k", "relative/%h_%r",
        "~root/k_%i",   "~/",         "/a/%h/%h",
    };
    const struct {
        const char *hostname, *alias, *host, *user;
    } queries[] = {{"127.0.0.1", nullptr, "web1", ""},
                   {"localhost", nullptr, "Mixed.Case", "bob"},
                   {"127.0.0.1", "keyalias", "db.example.com", "carol"}};
    for (const auto &q : queries) {
        std::string cfg = "Host *\n  HostName " + std::string(q.hostname) + "\n  Port " + std::to_string(server.port()) +
                          "\n  ConnectTimeout 10\n";
        if (q.alias)
            cfg += "  HostKeyAlias " + std::string(q.alias) + "\n";
        for (const char *t : templates)
            cfg += "  IdentityFile " + std::string(t) + "\n";
        cr_assert(unit::write_file(path, cfg));
        const std::string theirs = ssh_loaded_identities(path, q.host, q.user);
        const std::string ours = our_identities(path, q.host, q.user);
        cr_expect(!theirs.empty(), "ssh printed no identity file for %s", q.host);
        EXPECT_STR_EQ(ours, theirs);
    }
}
