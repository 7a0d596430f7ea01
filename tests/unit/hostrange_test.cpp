// expand_host_ranges: pdsh / ClusterShell host ranges and lists.
#include "net/hostrange.hpp"
#include "support.hpp"

using pssh::expand_host_ranges;
using pssh::HostRangeResult;

namespace {

std::vector<std::string> expand(const std::string &pattern, std::string *why = nullptr)
{
    std::vector<std::string> out;
    std::string reason;
    auto r = expand_host_ranges(pattern, [&](const std::string &h) { out.push_back(h); return true; }, &reason);
    cr_expect(r == HostRangeResult::Ok, "\"%s\" rejected: %s", unit::show(pattern).c_str(), reason.c_str());
    if (why)
        *why = reason;
    return out;
}

std::string joined(const std::vector<std::string> &v)
{
    std::string s;
    for (const std::string &h : v)
        s += (s.empty() ? "" : " ") + h;
    return s;
}

void expect_hosts(const std::string &pattern, const std::string &want)
{
    EXPECT_STR_EQ(joined(expand(pattern)), want);
}

// Malformed: rejected, fn never called, and the reason names the problem.
void expect_bad(const std::string &pattern, const char *mentions)
{
    size_t calls = 0;
    std::string why;
    auto r = expand_host_ranges(pattern, [&](const std::string &) { calls++; return true; }, &why);
    cr_expect(r == HostRangeResult::Malformed, "\"%s\" accepted", unit::show(pattern).c_str());
    cr_expect(calls == 0, "\"%s\": fn called %zu times before the error", unit::show(pattern).c_str(), calls);
    cr_expect(why.find(mentions) != std::string::npos, "\"%s\": reason \"%s\" lacks \"%s\"",
              unit::show(pattern).c_str(), why.c_str(), mentions);
}

} // namespace

Test(hostrange, plain_hosts_pass_through)
{
    expect_hosts("web1", "web1");
    expect_hosts("root@web1.example.com:2222", "root@web1.example.com:2222");
    expect_hosts("::1", "::1");
}

Test(hostrange, ranges_and_lists_inside_brackets)
{
    expect_hosts("web[01-03].example.com", "web01.example.com web02.example.com web03.example.com");
    expect_hosts("node[1-3,7,10-12]", "node1 node2 node3 node7 node10 node11 node12");
    expect_hosts("n[5]", "n5");
    expect_hosts("[1-3]", "1 2 3");
    expect_hosts("root@web[1-2]:2222", "root@web1:2222 root@web2:2222");
    // Written order is kept, duplicates included.
    expect_hosts("n[3,1,1]", "n3 n1 n1");
}

Test(hostrange, zero_padding_is_kept)
{
    expect_hosts("n[08-11]", "n08 n09 n10 n11");
    expect_hosts("n[00-02]", "n00 n01 n02");
    expect_hosts("n[0-2]", "n0 n1 n2");
    expect_hosts("n[01-3]", "n01 n02 n03");
    expect_hosts("n[007]", "n007");
    expect_hosts("n[1,02,3-4]", "n1 n02 n3 n4");
    auto wide = expand("n[098-101]");
    EXPECT_STR_EQ(joined(wide), "n098 n099 n100 n101");
    auto grow = expand("n[98-101]");
    EXPECT_STR_EQ(joined(grow), "n98 n99 n100 n101");
    auto past = expand("n[998-1000]"); // no padding asked: none added
    EXPECT_STR_EQ(joined(past), "n998 n999 n1000");
    auto over = expand("n[09-100]"); // padded to two digits; 100 as it is
    cr_expect_eq(over.size(), 92u);
    EXPECT_STR_EQ(over.front(), "n09");
    EXPECT_STR_EQ(over.back(), "n100");
}

Test(hostrange, several_brackets_rightmost_fastest)
{
    expect_hosts("r[1-2]n[1-3]", "r1n1 r1n2 r1n3 r2n1 r2n2 r2n3");
    expect_hosts("[1-2][1-2][1-2]", "111 112 121 122 211 212 221 222");
    expect_hosts("rack[1,3]-node[01-02].dc", "rack1-node01.dc rack1-node02.dc rack3-node01.dc rack3-node02.dc");
}

Test(hostrange, comma_lists_outside_brackets)
{
    expect_hosts("a,b[1-2],c", "a b1 b2 c");
    expect_hosts(" a , b ", "a b");
    expect_hosts("a,,b,", "a b");
    expect_hosts("node[1-2,5],login[1-2]", "node1 node2 node5 login1 login2");
}

Test(hostrange, ipv6_brackets_are_addresses)
{
    expect_hosts("[::1]:2222", "[::1]:2222");
    expect_hosts("root@[fe80::1%eth0]", "root@[fe80::1%eth0]");
    expect_hosts("[::1],h[1-2]", "[::1] h1 h2");
}

Test(hostrange, malformed_ranges_say_why)
{
    expect_bad("web[01-03", "'[' without ']'");
    expect_bad("web01]", "']' without '['");
    expect_bad("web[]", "empty brackets");
    expect_bad("web[1-]", "'1-' is not a number N or a range N-M");
    expect_bad("web[-1]", "'-1' is not");
    expect_bad("web[a]", "'a' is not");
    expect_bad("web[1-2-3]", "'1-2-3' is not");
    expect_bad("web[ 1]", "' 1' is not");
    expect_bad("web[3-1]", "'3-1' goes backwards");
    expect_bad("web[1,,2]", "empty item");
    expect_bad("web[1,]", "empty item");
    expect_bad("web[[1]]", "'[' inside brackets");
    expect_bad("web[1-05]", "different widths");
    expect_bad("web[001-05]", "different widths");
    expect_bad("web[1234567890123456789]", "more than 18 digits");
    expect_bad("", "no host");
    expect_bad(" , ", "no host");
    // One bad item spoils the list: nothing is expanded.
    expect_bad("good[1-3],bad[", "malformed host range 'bad['");
}

Test(hostrange, more_than_a_million_hosts_is_an_error)
{
    expect_bad("n[1-1000001]", "expands to more than 1,000,000 hosts");
    expect_bad("n[1-1000][1-1001]", "more than 1,000,000");
    expect_bad("n[0-999999999999999999]", "more than 1,000,000");
    expect_bad("a[1-600000],b[1-400001]", "more than 1,000,000");
    expect_bad("n[1-2,1-999999]", "more than 1,000,000");
    // Exactly the limit is fine.
    size_t n = 0;
    std::string last;
    auto r = expand_host_ranges("n[000001-999999],x", [&](const std::string &h) { n++; last = h; return true; }, nullptr);
    cr_expect(r == HostRangeResult::Ok);
    cr_expect_eq(n, 1000000u);
    EXPECT_STR_EQ(last, "x");
}

Test(hostrange, fn_can_stop)
{
    std::vector<std::string> seen;
    auto r = expand_host_ranges("n[1-5]", [&](const std::string &h) { seen.push_back(h); return seen.size() < 2; }, nullptr);
    cr_expect(r == HostRangeResult::Stopped);
    EXPECT_STR_EQ(joined(seen), "n1 n2");
}
