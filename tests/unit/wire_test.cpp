// The codecs under keys and known_hosts: strict base64 (issue 14 item 17),
// SSH mpints, and wiping a string's whole buffer.
#include "ssh/wire.hpp"
#include "support.hpp"

#include <string>
#include <vector>

using pssh::base64_decode;

namespace {

void expect_decodes(const std::string &in, const std::string &want)
{
    std::string out = "stale";
    cr_expect(base64_decode(in, out), "\"%s\" refused", unit::show(in).c_str());
    cr_expect(out == want, "\"%s\" gave \"%s\", want \"%s\"", unit::show(in).c_str(), unit::show(out).c_str(),
              unit::show(want).c_str());
}

void expect_refused(const std::string &in, const char *why)
{
    std::string out = "stale";
    cr_expect(!base64_decode(in, out), "\"%s\" accepted (%s): gave \"%s\"", unit::show(in).c_str(), why,
              unit::show(out).c_str());
    cr_expect(out.empty(), "\"%s\": output left after a refusal: \"%s\"", unit::show(in).c_str(),
              unit::show(out).c_str());
}

} // namespace

// RFC 4648 section 10, and the shapes PEM bodies and known_hosts take.
Test(wire, base64_valid)
{
    expect_decodes("Zg==", "f");
    expect_decodes("Zm8=", "fo");
    expect_decodes("Zm9v", "foo");
    expect_decodes("Zm9vYg==", "foob");
    expect_decodes("Zm9vYmE=", "fooba");
    expect_decodes("Zm9vYmFy", "foobar");
    expect_decodes("AAAA", std::string(3, '\0'));
    expect_decodes("+/+/", "\xfb\xff\xbf");
    // Whitespace anywhere is skipped: PEM line breaks, CRLF, indentation.
    expect_decodes("Zm9v\nYmFy\n", "foobar");
    expect_decodes("  Zm9v\r\nYm\tFy  ", "foobar");
    expect_decodes("Zm9vYg=\n=", "foob");
    expect_decodes("Zm9vYg= =\n", "foob");
}

Test(wire, base64_strict)
{
    expect_refused("", "empty");
    expect_refused(" \n", "only whitespace");
    expect_refused("====", "padding only");
    expect_refused("A===", "three '='");
    expect_refused("AA==AAAA", "data after padding");
    expect_refused("AA==\nAAAA", "data after padding, across lines");
    expect_refused("AAA=A===", "padding in the middle");
    expect_refused("=AAA", "padding first");
    expect_refused("AA=A", "'=' then data");
    expect_refused("Zg==Zg==", "two padded quartets");
    expect_refused("Zg=", "short padding");
    expect_refused("Zg", "no padding");
    expect_refused("Zm9vY", "a lone character");
    expect_refused("Zh==", "non-zero unused bits (4)");
    expect_refused("Zm9=", "non-zero unused bits (2)");
    expect_refused("Zm9v!mFy", "a character outside the alphabet");
    expect_refused("Zm9v-_Fy", "URL-safe alphabet");
    expect_refused(std::string("Zm9v\0YmFy", 9), "a NUL");
}

Test(wire, base64_round_trip)
{
    std::string all;
    for (int i = 0; i < 256; i++)
        all.push_back(char(i));
    for (size_t n = 1; n <= all.size(); n += 37) {
        std::string in = all.substr(0, n), out;
        cr_assert(base64_decode(pssh::base64_encode(in), out), "length %zu", n);
        cr_expect(out == in, "length %zu", n);
        cr_expect(pssh::base64_encode(in) == unit::base64(in), "encoder, length %zu", n);
    }
}

Test(wire, mpint)
{
    struct Case {
        std::string in, want;
    } cases[] = {
        {"", std::string("\0\0\0\0", 4)},
        {std::string("\0\0", 2), std::string("\0\0\0\0", 4)},
        {"\x01", std::string("\0\0\0\x01\x01", 5)},
        {"\x80", std::string("\0\0\0\x02\0\x80", 6)},
        {std::string("\0\x7f\xff", 3), std::string("\0\0\0\x02\x7f\xff", 6)},
        {std::string("\0\0\xff", 3), std::string("\0\0\0\x02\0\xff", 6)},
    };
    for (const Case &c : cases) {
        std::string out;
        pssh::put_mpint(out, c.in);
        cr_expect(out == c.want, "mpint(\"%s\") = \"%s\", want \"%s\"", unit::show(c.in).c_str(),
                  unit::show(out).c_str(), unit::show(c.want).c_str());
    }
}

// The bytes past the end of a string, left there by a longer earlier value,
// are wiped too.
Test(wire, wipe_string_covers_the_whole_buffer)
{
    std::string s(100, 'S');
    s.assign("short");
    const size_t cap = s.capacity();
    const char *buf = s.data();
    pssh::wipe_string(s);
    cr_assert(s.empty());
    cr_assert_eq(s.data(), buf, "the buffer moved");
    cr_assert_eq(s.capacity(), cap);
    for (size_t i = 0; i < cap; i++)
        cr_assert_eq(buf[i], '\0', "byte %zu of %zu left: 0x%02x", i, cap, (unsigned char)buf[i]);
}
