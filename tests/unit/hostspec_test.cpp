// parse_host_spec: "[user@]host[:port]", IPv6 in brackets or bare.
#include "net/hostspec.hpp"
#include "support.hpp"

using pssh::HostSpec;
using pssh::parse_host_spec;

namespace {

struct Good {
    const char *text, *user, *host;
    int port;
};

void expect_good(const Good &g)
{
    HostSpec spec;
    std::string why;
    bool ok = parse_host_spec(g.text, spec, &why);
    cr_expect(ok, "\"%s\" rejected: %s", unit::show(g.text).c_str(), why.c_str());
    if (!ok)
        return;
    cr_expect(spec.user == g.user && spec.host == g.host && spec.port == g.port,
              "\"%s\": got user=\"%s\" host=\"%s\" port=%d, want user=\"%s\" host=\"%s\" port=%d",
              unit::show(g.text).c_str(), spec.user.c_str(), spec.host.c_str(), spec.port, g.user,
              g.host, g.port);
}

void expect_bad(const std::string &text, const char *why_mentions = "")
{
    HostSpec spec;
    std::string why;
    bool ok = parse_host_spec(text, spec, &why);
    cr_expect(!ok, "\"%s\" accepted as user=\"%s\" host=\"%s\" port=%d", unit::show(text).c_str(),
              spec.user.c_str(), spec.host.c_str(), spec.port);
    if (ok)
        return;
    cr_expect(!why.empty(), "\"%s\": rejected without a reason", unit::show(text).c_str());
    cr_expect(why.find(why_mentions) != std::string::npos, "\"%s\": reason \"%s\" lacks \"%s\"",
              unit::show(text).c_str(), why.c_str(), why_mentions);
}

} // namespace

Test(hostspec, plain_names_users_and_ports)
{
    const Good cases[] = {
        {"host", "", "host", 0},
        {"alice@host", "alice", "host", 0},
        {"alice@host:2222", "alice", "host", 2222},
        {"web-01.example.com", "", "web-01.example.com", 0},
        {"under_score", "", "under_score", 0},
        {"host:22", "", "host", 22},
        {"10.0.0.1", "", "10.0.0.1", 0},
        {"root@10.0.0.1:8022", "root", "10.0.0.1", 8022},
        // Like ssh, the last '@' splits: user names may hold '@' (e-mail logins).
        {"me@corp.example@host", "me@corp.example", "host", 0},
    };
    for (const Good &g : cases)
        expect_good(g);
}

Test(hostspec, ipv6_in_brackets_and_bare)
{
    const Good cases[] = {
        {"[::1]", "", "::1", 0},
        {"[::1]:2222", "", "::1", 2222},
        {"bob@[2001:db8::7]:22", "bob", "2001:db8::7", 22},
        {"[fe80::1%eth0]:22", "", "fe80::1%eth0", 22},
        {"::1", "", "::1", 0},
        {"2001:db8::1", "", "2001:db8::1", 0},
        {"bob@fe80::1%eth0", "bob", "fe80::1%eth0", 0},
        {"[::ffff:10.0.0.1]:65535", "", "::ffff:10.0.0.1", 65535},
    };
    for (const Good &g : cases)
        expect_good(g);
}

Test(hostspec, port_bounds)
{
    expect_good({"h:1", "", "h", 1});
    expect_good({"h:65535", "", "h", 65535});
    expect_good({"h:00022", "", "h", 22}); // leading zeros, five digits
    expect_good({"[::1]:1", "", "::1", 1});
    expect_bad("h:0", "port");
    expect_bad("h:65536", "port");
    expect_bad("h:99999", "port");
    expect_bad("h:000022", "port"); // six digits
    expect_bad("h:4294967318", "port"); // 22 modulo 2^32: must not wrap
    expect_bad("h:22a", "port");
    expect_bad("h:-1", "port");
    expect_bad("h:+22", "port");
    expect_bad("h: 22", "port");
    expect_bad("h:", "port");
    expect_bad("[::1]:0", "port");
    expect_bad("[::1]:65536", "port");
    expect_bad("[::1]:", "port");
    expect_bad("[::1]22", "port");
    expect_bad("[::1]:x", "port");
}

Test(hostspec, empty_parts)
{
    expect_bad("", "empty");
    expect_bad("@host", "user");
    expect_bad("user@", "host");
    expect_bad(":22", "host");
    expect_bad("user@:22", "host");
    expect_bad("[]");
    expect_bad("[]:22");
    expect_bad("[::1");
    expect_bad("u@[");
}

Test(hostspec, junk_characters)
{
    const char *hosts[] = {"ho st", "host/path", "host\n", "host\t", "ho;st", "ho$st", "h*st",
                           "h?st",  "host,b",    "hö",     "ho\\st", "h'st", "\x7fhost"};
    for (const char *h : hosts)
        expect_bad(h, "");
    expect_bad(std::string("ho\0st", 5));
    expect_bad("us er@host", "user");
    expect_bad("us\ter@host", "user");
    expect_bad("us\x01r@host", "user");
    expect_bad("[::1 ]:22", "bracket");
    expect_bad("[::1/64]", "bracket");
    expect_bad("fe80::1 ", "IPv6");
}

Test(hostspec, long_names)
{
    std::string name;
    while (name.size() < 253)
        name += name.empty() ? "a" : ".a";
    name.resize(253);
    cr_assert_eq(name.back(), 'a');
    expect_good({name.c_str(), "", name.c_str(), 0});
    expect_bad(name + "b");
    expect_bad(std::string(100000, 'a'));
    std::string user(1000, 'u');
    expect_good({(user + "@h").c_str(), user.c_str(), "h", 0});
}

Test(hostspec, output_is_reset_and_why_optional)
{
    HostSpec spec{"old", "oldhost", 99};
    cr_assert(parse_host_spec("newhost", spec, nullptr));
    cr_expect(spec.user.empty() && spec.host == "newhost" && spec.port == 0,
              "fields from an earlier parse leaked: user=\"%s\" port=%d", spec.user.c_str(), spec.port);
    cr_expect(!parse_host_spec("bad host", spec, nullptr));
}

// Regression (found by this suite): valid_name let any letter into an IPv6
// address, so a typo such as a second port ("example.com:22:") passed as a
// bare IPv6 address and failed later as an unknown host, not as HOST_ARG.
Test(hostspec, bare_ipv6_with_non_hex_letters_is_rejected)
{
    expect_bad("example.com:2222:", "IPv6");
    expect_bad("host:22:33", "IPv6");
    expect_bad("user@web:01:22", "IPv6");
    expect_good({"fe80::1%eth0", "", "fe80::1%eth0", 0}); // the zone may have any letters
}
