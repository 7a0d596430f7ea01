// host_patterns_match: one known_hosts host field against a lookup name.
#include "known_hosts_support.hpp"

using pssh::host_patterns_match;

namespace {

struct Case {
    const char *patterns, *name;
    bool want;
};

void expect_cases(const Case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_expect(host_patterns_match(cases[i].patterns, cases[i].name) == cases[i].want,
                  "patterns \"%s\" vs \"%s\": want %s", cases[i].patterns, cases[i].name,
                  cases[i].want ? "match" : "no match");
}

// A pasted `ssh-keygen -H` output (OpenSSH 9.2) for example.com and
// [example.com]:2222: proves the format against the real tool, not against
// our own idea of it.
constexpr const char *kKeygenHashed22 = "|1|2CakQJbhH/CsIUtagnBd0TkUNXM=|VjvmrSZ6vdgKSsiEoqZAYBkPDz4=";
constexpr const char *kKeygenHashed2222 = "|1|1HUfQXaQVqJjipJq+nJMLvHIVRA=|NJfAFEP+E/Xp9AyXmUa9YToq/H0=";

} // namespace

Test(host_patterns, plain_names)
{
    const Case cases[] = {
        {"example.com", "example.com", true},   {"example.com", "example.org", false},
        {"example.com", "xexample.com", false}, {"example.com", "example.co", false},
        {"example.co", "example.com", false},   {"[h]:2222", "[h]:2222", true},
        {"[h]:2222", "[h]:22", false},          {"h", "[h]:2222", false},
        {"[h]:2222", "h", false},               {"", "h", false},
        {"10.0.0.1", "10.0.0.1", true},         {"10.0.0.1", "10.0.0.11", false},
    };
    expect_cases(cases, std::size(cases));
}

Test(host_patterns, comma_lists)
{
    const Case cases[] = {
        {"a,b,c", "a", true},  {"a,b,c", "b", true},   {"a,b,c", "c", true},
        {"a,b,c", "d", false}, {"a,b,c", "a,b", false}, {"a,,b", "b", true},
        {",a", "a", true},     {"a,", "a", true},       {"a,b", "", false},
        {"host,10.0.0.1", "10.0.0.1", true},
    };
    expect_cases(cases, std::size(cases));
}

Test(host_patterns, wildcards)
{
    const Case cases[] = {
        {"*", "anything.example", true},
        {"*", "[h]:2222", true},
        {"*.example.com", "www.example.com", true},
        {"*.example.com", "a.b.example.com", true},
        {"*.example.com", "example.com", false},
        {"*.example.com", "www.example.com.evil", false},
        {"host?", "host1", true},
        {"host?", "host", false},
        {"host?", "host12", false},
        {"h??t", "heat", true},
        {"a*b*c", "aXXbYYc", true},
        {"a*b*c", "aXXbYY", false},
        {"*aab", "aaab", true}, // needs a backtrack
        {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true},
        {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
        {"**", "x", true},
        {"10.0.0.*", "10.0.0.255", true},
        {"10.0.0.*", "10.0.1.1", false},
        {"[h]:*", "[h]:2222", true},
        {"[h]:*", "h", false},
    };
    expect_cases(cases, std::size(cases));
}

Test(host_patterns, negation)
{
    const Case cases[] = {
        {"*.example.com,!bad.example.com", "good.example.com", true},
        {"*.example.com,!bad.example.com", "bad.example.com", false},
        {"!bad.example.com,*.example.com", "bad.example.com", false}, // order does not matter
        {"!bad", "good", false},                                       // a negation alone never matches
        {"!bad", "bad", false},
        {"!*.internal,*", "db.internal", false},
        {"!*.internal,*", "db.example", true},
        {"!", "x", false},
        {"!,x", "x", true},
    };
    expect_cases(cases, std::size(cases));
}

Test(host_patterns, case_insensitive)
{
    const Case cases[] = {
        {"EXAMPLE.com", "example.COM", true},
        {"*.EXAMPLE.COM", "www.example.com", true},
        {"!BAD.example.com,*", "bad.EXAMPLE.com", false},
        {"HOST?", "host1", true},
    };
    expect_cases(cases, std::size(cases));
}

Test(host_patterns, hashed_entries_generated)
{
    const std::string salt("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14", 20);
    const std::string h = unit::hashed_name("web1.example.com", salt);
    cr_expect(host_patterns_match(h, "web1.example.com"));
    cr_expect(!host_patterns_match(h, "web2.example.com"));
    cr_expect(!host_patterns_match(h, "web1.example.co"));
    cr_expect(host_patterns_match("other," + h, "web1.example.com"), "hashed entry in a list");
    cr_expect(!host_patterns_match("*," + std::string("!") + h, "web1.example.com"), "negated hashed entry");
    cr_expect(host_patterns_match("*,!" + h, "web2.example.com"));
    const std::string hp = unit::hashed_name("[web1.example.com]:2222", salt);
    cr_expect(host_patterns_match(hp, "[web1.example.com]:2222"));
    cr_expect(!host_patterns_match(hp, "web1.example.com"));
    // Salt and hash are not interchangeable, and the salt matters.
    const std::string other_salt(20, 'x');
    cr_expect(!host_patterns_match(unit::hashed_name("a", other_salt), "b"));
    cr_expect(host_patterns_match(unit::hashed_name("a", other_salt), "a"));
}

Test(host_patterns, hashed_entries_from_ssh_keygen)
{
    cr_expect(host_patterns_match(kKeygenHashed22, "example.com"));
    cr_expect(!host_patterns_match(kKeygenHashed22, "[example.com]:2222"));
    cr_expect(host_patterns_match(kKeygenHashed2222, "[example.com]:2222"));
    cr_expect(!host_patterns_match(kKeygenHashed2222, "example.com"));
}

Test(host_patterns, broken_hashed_entries_never_match)
{
    const std::string good = unit::hashed_name("h", std::string(20, 's'));
    const std::string broken[] = {
        "|1|",
        "|1||",
        "|1|c2FsdA==",                   // no hash part
        "|1|c2FsdA==|",                  // empty hash
        "|1|!!!!|" + good.substr(good.rfind('|') + 1), // bad salt base64
        "|1|c2FsdA==|abc",               // length not a multiple of 4
        good.substr(0, good.size() - 4), // truncated hash
        "|2|" + good.substr(3),          // unknown hash version
    };
    // The right salt and a hash that differs only in its last byte.
    std::string mac = unit::unbase64(good.substr(good.rfind('|') + 1));
    mac.back() ^= 1;
    const std::string near = good.substr(0, good.rfind('|') + 1) + unit::base64(mac);
    for (const std::string &b : {near})
        cr_expect(!host_patterns_match(b, "h"), "\"%s\" matched", b.c_str());
    for (const std::string &b : broken)
        cr_expect(!host_patterns_match(b, "h"), "\"%s\" matched", b.c_str());
    cr_expect(host_patterns_match(good, "h"));
}
