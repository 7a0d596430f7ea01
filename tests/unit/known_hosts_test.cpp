// check_known_hosts, known_key_types, known_hosts_line: verdicts and the
// line that decided them.
#include "known_hosts_support.hpp"

using pssh::check_known_hosts;
using pssh::HostKeyStatus;
using pssh::known_hosts_line;
using pssh::known_key_types;
using unit::ed25519_blob;
using unit::kh_line;

namespace {

const std::string kEd = "ssh-ed25519";
const std::string kEc = "ecdsa-sha2-nistp256";

std::string join(const std::vector<std::string> &v)
{
    std::string s;
    for (const std::string &x : v)
        s += (s.empty() ? "" : ",") + x;
    return s;
}

} // namespace

Test(known_hosts, match_reports_its_line)
{
    const std::string key = ed25519_blob(1);
    const std::string text = "# a comment\n"
                             "\n" +
                             kh_line("other", kEd, ed25519_blob(9)) + "\n" + kh_line("web", kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(text, "web", 22, kEd, key), HostKeyStatus::Match, 4);
    EXPECT_VERDICT(check_known_hosts(text, "nobody", 22, kEd, key), HostKeyStatus::NotFound, 0);
    EXPECT_VERDICT(check_known_hosts("", "web", 22, kEd, key), HostKeyStatus::NotFound, 0);
}

Test(known_hosts, mismatch_reports_its_line)
{
    const std::string text = "# header\n" + kh_line("db,db.example", kEc, unit::ecdsa_blob(1)) + "\n" +
                             kh_line("db.example,db", kEd, ed25519_blob(2)) + "\n";
    EXPECT_VERDICT(check_known_hosts(text, "db", 22, kEd, ed25519_blob(3)), HostKeyStatus::Mismatch, 3);
}

Test(known_hosts, any_listed_key_of_the_type_matches)
{
    // Several keys of one type (a rotation): the one that matches wins over
    // an earlier one that does not.
    const std::string key = ed25519_blob(5);
    const std::string text = kh_line("h", kEd, ed25519_blob(4)) + "\n" + kh_line("h", kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(text, "h", 22, kEd, key), HostKeyStatus::Match, 2);
    EXPECT_VERDICT(check_known_hosts(text, "h", 22, kEd, ed25519_blob(6)), HostKeyStatus::Mismatch, 1);
    // The same key listed twice: the first line decides.
    const std::string twice = kh_line("x", kEd, key) + "\n" + kh_line("h", kEd, key) + "\n" + kh_line("*", kEd, key);
    EXPECT_VERDICT(check_known_hosts(twice, "h", 22, kEd, key), HostKeyStatus::Match, 2);
    const std::string revoked_twice = "@revoked " + kh_line("x", kEd, key) + "\n@revoked " + kh_line("h", kEd, key) +
                                      "\n@revoked " + kh_line("*", kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(revoked_twice, "h", 22, kEd, key), HostKeyStatus::Revoked, 2);
}

// Issue 14 item 4. OpenSSH holds the server's key against every key known
// for the host, whatever its type (hostfile.c, check_hostkeys_by_key_or_type):
// a host known only by keys of other types is a changed host, not a new one.
// What makes a host "known" is an unmarked line that names it: plainly,
// hashed, or through a wildcard; not a @revoked or @cert-authority line, not
// a line whose negation excludes it, not a line for another port.
Test(known_hosts, known_under_another_type)
{
    const std::string ed = ed25519_blob(1), ec = unit::ecdsa_blob(1);
    const std::string salt(20, '\x21');
    struct Case {
        const char *why;
        std::string text;
        HostKeyStatus want;
        int line;
    };
    const Case cases[] = {
        {"plain", "# x\n" + kh_line("h", kEc, ec) + "\n", HostKeyStatus::OtherType, 2},
        {"hashed", kh_line(unit::hashed_name("h", salt), kEc, ec) + "\n", HostKeyStatus::OtherType, 1},
        {"wildcard", kh_line("*", kEc, ec) + "\n", HostKeyStatus::OtherType, 1},
        {"in a list", kh_line("g,h*", kEc, ec) + "\n", HostKeyStatus::OtherType, 1},
        {"port", kh_line("[h]:2222", kEc, ec) + "\n", HostKeyStatus::NotFound, 0},
        {"negated", kh_line("!h,*", kEc, ec) + "\n", HostKeyStatus::NotFound, 0},
        {"revoked only", "@revoked " + kh_line("h", kEc, ec) + "\n", HostKeyStatus::NotFound, 0},
        {"CA only", "@cert-authority " + kh_line("*", kEc, ec) + "\n", HostKeyStatus::NotFound, 0},
        {"unknown marker", "@other " + kh_line("h", kEc, ec) + "\n", HostKeyStatus::NotFound, 0},
        // Of the known types, the server's own decides first.
        {"same type differs", kh_line("h", kEc, ec) + "\n" + kh_line("h", kEd, ed25519_blob(2)) + "\n",
         HostKeyStatus::Mismatch, 2},
        {"same type matches", kh_line("h", kEc, ec) + "\n" + kh_line("h", kEd, ed) + "\n", HostKeyStatus::Match, 2},
        {"revoked wins", kh_line("h", kEc, ec) + "\n@revoked " + kh_line("*", kEd, ed) + "\n",
         HostKeyStatus::Revoked, 2},
    };
    for (const Case &c : cases) {
        const pssh::HostKeyVerdict v = check_known_hosts(c.text, "h", 22, kEd, ed);
        cr_expect(v.status == c.want && v.line == c.line, "%s: got %s line %d, want %s line %d", c.why,
                  unit::status_name(v.status), v.line, unit::status_name(c.want), c.line);
    }
    // The types known are those of the unmarked lines, the ones offered first.
    EXPECT_STR_EQ(join(known_key_types(cases[0].text, "h", 22)), kEc);
    EXPECT_STR_EQ(join(known_key_types(cases[6].text, "h", 22)), "");
}

Test(known_hosts, revoked_beats_match)
{
    const std::string key = ed25519_blob(7);
    const std::string text = kh_line("h", kEd, key) + "\n" + "@revoked " + kh_line("*", kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(text, "h", 22, kEd, key), HostKeyStatus::Revoked, 2);
    // Revoking another key changes nothing for this one.
    const std::string other = kh_line("h", kEd, key) + "\n" + "@revoked " + kh_line("h", kEd, ed25519_blob(8)) + "\n";
    EXPECT_VERDICT(check_known_hosts(other, "h", 22, kEd, key), HostKeyStatus::Match, 1);
    // A revoked key with no other entry is still revoked, not unknown.
    EXPECT_VERDICT(check_known_hosts("@revoked " + kh_line("h", kEd, key), "h", 22, kEd, key),
                   HostKeyStatus::Revoked, 1);
    // The marker applies only to the hosts it names.
    EXPECT_VERDICT(check_known_hosts("@revoked " + kh_line("x", kEd, key), "h", 22, kEd, key),
                   HostKeyStatus::NotFound, 0);
}

Test(known_hosts, cert_authority_lines_are_ignored)
{
    const std::string key = ed25519_blob(1);
    // A CA key for the host is neither a match nor a mismatch for a plain key.
    const std::string ca_only = "@cert-authority " + kh_line("*.example.com", kEd, ed25519_blob(2)) + "\n";
    EXPECT_VERDICT(check_known_hosts(ca_only, "a.example.com", 22, kEd, key), HostKeyStatus::NotFound, 0);
    const std::string ca_same = "@cert-authority " + kh_line("a.example.com", kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(ca_same, "a.example.com", 22, kEd, key), HostKeyStatus::NotFound, 0);
    const std::string with_host = ca_only + kh_line("a.example.com", kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(with_host, "a.example.com", 22, kEd, key), HostKeyStatus::Match, 2);
}

Test(known_hosts, port_forms)
{
    const std::string key22 = ed25519_blob(1), key2222 = ed25519_blob(2);
    const std::string text = kh_line("h", kEd, key22) + "\n" + kh_line("[h]:2222", kEd, key2222) + "\n";
    EXPECT_VERDICT(check_known_hosts(text, "h", 22, kEd, key22), HostKeyStatus::Match, 1);
    EXPECT_VERDICT(check_known_hosts(text, "h", 2222, kEd, key2222), HostKeyStatus::Match, 2);
    // Each port sees only its own entry.
    EXPECT_VERDICT(check_known_hosts(text, "h", 22, kEd, key2222), HostKeyStatus::Mismatch, 1);
    EXPECT_VERDICT(check_known_hosts(text, "h", 2222, kEd, key22), HostKeyStatus::Mismatch, 2);
    EXPECT_VERDICT(check_known_hosts(text, "h", 2200, kEd, key22), HostKeyStatus::NotFound, 0);
    // IPv6 addresses take the same bracket form.
    const std::string v6 = kh_line("[::1]:2222", kEd, key2222) + "\n" + kh_line("::1", kEd, key22) + "\n";
    EXPECT_VERDICT(check_known_hosts(v6, "::1", 2222, kEd, key2222), HostKeyStatus::Match, 1);
    EXPECT_VERDICT(check_known_hosts(v6, "::1", 22, kEd, key22), HostKeyStatus::Match, 2);
}

Test(known_hosts, comments_blanks_crlf_and_spacing)
{
    const std::string key = ed25519_blob(3);
    const std::string b64 = unit::base64(key);
    const std::string text = "# comment h ssh-ed25519 " + unit::base64(ed25519_blob(4)) + "\r\n"
                             "\r\n"
                             "   \t\r\n"
                             "h ssh-ed25519\r\n"                              // no key: skipped
                             "  h\t" + kEd + "  " + b64 + " a trailing comment\r\n" // line 5
                             "#h " + kEd + " " + unit::base64(ed25519_blob(4)) + "\r\n";
    EXPECT_VERDICT(check_known_hosts(text, "h", 22, kEd, key), HostKeyStatus::Match, 5);
    // The commented-out line 6 is not a mismatch either.
    EXPECT_VERDICT(check_known_hosts(text, "h", 22, kEd, ed25519_blob(5)), HostKeyStatus::Mismatch, 5);
    // CRLF right after the key: the "\r" is not part of the key.
    EXPECT_VERDICT(check_known_hosts("x " + kEd + " AAAA\r\nh " + kEd + " " + b64 + "\r\n", "h", 22, kEd, key),
                   HostKeyStatus::Match, 2);
    // A last line without newline counts.
    const std::string no_nl = "x " + kEd + " AAAA\nh " + kEd + " " + b64;
    EXPECT_VERDICT(check_known_hosts(no_nl, "h", 22, kEd, key), HostKeyStatus::Match, 2);
    // A lone CR inside a line is not a line break.
    const std::string cr = "x " + kEd + " AAAA\rh " + kEd + " " + b64 + "\n";
    EXPECT_VERDICT(check_known_hosts(cr, "h", 22, kEd, key), HostKeyStatus::NotFound, 0);
}

Test(known_hosts, hashed_entries)
{
    const std::string key = ed25519_blob(1);
    const std::string salt(20, '\x5a');
    const std::string text = kh_line(unit::hashed_name("h.example", salt), kEd, key) + "\n" +
                             kh_line(unit::hashed_name("[h.example]:2222", salt), kEd, ed25519_blob(2)) + "\n";
    EXPECT_VERDICT(check_known_hosts(text, "h.example", 22, kEd, key), HostKeyStatus::Match, 1);
    EXPECT_VERDICT(check_known_hosts(text, "h.example", 2222, kEd, key), HostKeyStatus::Mismatch, 2);
    EXPECT_VERDICT(check_known_hosts(text, "g.example", 22, kEd, key), HostKeyStatus::NotFound, 0);
}

Test(known_hosts, plain_names_match_any_case)
{
    const std::string key = ed25519_blob(1);
    const std::string text = kh_line("web01.example.com", kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(text, "WEB01.Example.COM", 22, kEd, key), HostKeyStatus::Match, 1);
}

// Regression (found by this suite): plain names matched in any case but
// hashed ones were hashed from the name exactly as given. OpenSSH lowercases
// the host before it looks it up or writes it (ssh.c: `lowercase(host)`), so
// a file that ssh hashed holds lowercase names.
Test(known_hosts, hashed_entries_match_any_case)
{
    const std::string key = ed25519_blob(1);
    const std::string text = kh_line(unit::hashed_name("web01.example.com", std::string(20, 's')), kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(text, "Web01.Example.com", 22, kEd, key), HostKeyStatus::Match, 1);
}

Test(known_hosts, key_types_in_order_without_duplicates)
{
    const std::string text = "# list\n" +
                             kh_line("h", kEc, unit::ecdsa_blob(1)) + "\n" +
                             kh_line("other", "ssh-rsa", "rsa") + "\n" +
                             kh_line("h,g", kEd, ed25519_blob(1)) + "\n" +
                             kh_line("*", kEc, unit::ecdsa_blob(2)) + "\n" +
                             "@revoked " + kh_line("h", "ssh-dss", "dss") + "\n" +
                             "@cert-authority " + kh_line("h", "ssh-rsa", "rsa") + "\n" +
                             kh_line("[h]:2222", "ssh-rsa", "rsa") + "\n" +
                             kh_line("h", kEd, ed25519_blob(2)) + "\n";
    EXPECT_STR_EQ(join(known_key_types(text, "h", 22)), kEc + "," + kEd);
    EXPECT_STR_EQ(join(known_key_types(text, "h", 2222)), kEc + ",ssh-rsa");
    EXPECT_STR_EQ(join(known_key_types(text, "g", 22)), kEd + "," + kEc);
    EXPECT_STR_EQ(join(known_key_types(text, "nowhere", 22)), kEc); // only the "*" line
    EXPECT_STR_EQ(join(known_key_types("", "h", 22)), "");
}

Test(known_hosts, line_round_trip)
{
    // Every byte value in the blob, and lengths that need 0, 1 and 2 '='.
    std::string all;
    for (int i = 0; i < 256; i++)
        all += char(i);
    for (size_t len : {size_t(1), size_t(2), size_t(3), size_t(51), size_t(256)}) {
        const std::string blob = all.substr(256 - len);
        for (int port : {22, 2222}) {
            const std::string line = known_hosts_line("rt.example", port, kEd, blob);
            cr_assert(!line.empty() && line.back() == '\n', "no newline: \"%s\"", unit::show(line).c_str());
            const std::string want = (port == 22 ? "rt.example" : "[rt.example]:2222") + std::string(" ") + kEd +
                                     " " + unit::base64(blob) + "\n";
            EXPECT_STR_EQ(line, want);
            EXPECT_VERDICT(check_known_hosts(line, "rt.example", port, kEd, blob), HostKeyStatus::Match, 1);
            EXPECT_VERDICT(check_known_hosts(line, "rt.example", port == 22 ? 2222 : 22, kEd, blob),
                           HostKeyStatus::NotFound, 0);
            // Appended after an existing file, it is found on its own line.
            const std::string file = "# existing\n" + kh_line("x", kEd, ed25519_blob(1)) + "\n" + line;
            EXPECT_VERDICT(check_known_hosts(file, "rt.example", port, kEd, blob), HostKeyStatus::Match, 3);
            EXPECT_VERDICT(check_known_hosts(file, "rt.example", port, kEd, blob + "x"),
                           HostKeyStatus::Mismatch, 3);
        }
    }
    const std::string v6 = known_hosts_line("fe80::1", 2222, kEd, all);
    EXPECT_VERDICT(check_known_hosts(v6, "fe80::1", 2222, kEd, all), HostKeyStatus::Match, 1);
}

// Plain names are looked up in an index, patterns line by line: the verdict
// still comes from the first deciding line in file order, whichever kind.
Test(known_hosts, indexed_and_patterned_lines_keep_file_order)
{
    const std::string key = ed25519_blob(1), other = ed25519_blob(2);
    const std::string text = kh_line("h?", kEd, other) + "\n" +  // 1: pattern, mismatch
                             kh_line("h1,H1", kEd, other) + "\n" + // 2: plain, twice, mismatch
                             kh_line("h1", kEd, key) + "\n" +       // 3: plain, match
                             kh_line("*1", kEd, key) + "\n";        // 4: pattern, match
    EXPECT_VERDICT(check_known_hosts(text, "h1", 22, kEd, key), HostKeyStatus::Match, 3);
    EXPECT_VERDICT(check_known_hosts(text, "h1", 22, kEd, ed25519_blob(3)), HostKeyStatus::Mismatch, 1);
    EXPECT_VERDICT(check_known_hosts(text, "x1", 22, kEd, key), HostKeyStatus::Match, 4);
    // A negated name takes its line out of the index's reach.
    const std::string neg = kh_line("h1,!h1", kEd, other) + "\n" + kh_line("h1", kEd, key) + "\n";
    EXPECT_VERDICT(check_known_hosts(neg, "h1", 22, kEd, other), HostKeyStatus::Mismatch, 2);
}

Test(known_hosts, one_line_per_host_in_a_large_file)
{
    std::string text;
    for (int i = 0; i < 5000; i++)
        text += kh_line("[10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "]:2222", kEd,
                        ed25519_blob(static_cast<unsigned char>(i))) +
                "\n";
    const pssh::KnownHosts known(text);
    for (int i : {0, 1, 2499, 4999}) {
        const std::string host = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
        EXPECT_VERDICT(known.check(host, 2222, kEd, ed25519_blob(static_cast<unsigned char>(i))),
                       HostKeyStatus::Match, i + 1);
        EXPECT_VERDICT(known.check(host, 22, kEd, ed25519_blob(0)), HostKeyStatus::NotFound, 0);
        EXPECT_STR_EQ(join(known.key_types(host, 2222)), kEd);
    }
}

// Lines we append (accept-new) are added to the parsed file as its next
// lines, whether or not the file ended with a newline.
Test(known_hosts, appended_lines_follow_the_file)
{
    const std::string a = ed25519_blob(1), b = ed25519_blob(2);
    for (const char *tail : {"\n", ""}) {
        pssh::KnownHosts known("# one\n" + kh_line("x", kEd, a) + tail);
        known.append(known_hosts_line("h", 2222, kEd, b));
        EXPECT_VERDICT(known.check("h", 2222, kEd, b), HostKeyStatus::Match, 3);
        known.append(kh_line("g", kEd, a)); // no newline given: the same
        EXPECT_VERDICT(known.check("g", 22, kEd, a), HostKeyStatus::Match, 4);
        EXPECT_VERDICT(known.check("x", 22, kEd, a), HostKeyStatus::Match, 2);
    }
    pssh::KnownHosts empty("");
    empty.append(known_hosts_line("h", 22, kEd, a));
    EXPECT_VERDICT(empty.check("h", 22, kEd, a), HostKeyStatus::Match, 1);
}

// OpenSSH takes a hashed name only with a 20-byte salt and hash (the size
// of HMAC-SHA1); the salt is decoded once, when the file is parsed.
Test(known_hosts, hashed_names_need_a_20_byte_salt)
{
    const std::string key = ed25519_blob(1);
    for (size_t len : {size_t(16), size_t(19), size_t(21), size_t(64)}) {
        const std::string text = kh_line(unit::hashed_name("h", std::string(len, 's')), kEd, key) + "\n";
        EXPECT_VERDICT(check_known_hosts(text, "h", 22, kEd, key), HostKeyStatus::NotFound, 0);
    }
    // Many lines, each with its own salt: every one is found, none by another name.
    std::string text;
    for (int i = 0; i < 300; i++) {
        std::string salt(20, char(i));
        salt[0] = char(i >> 8);
        text += kh_line(unit::hashed_name("host" + std::to_string(i), salt), kEd,
                        ed25519_blob(static_cast<unsigned char>(i))) + "\n";
    }
    const pssh::KnownHosts known(text);
    for (int i : {0, 1, 150, 299})
        EXPECT_VERDICT(known.check("host" + std::to_string(i), 22, kEd, ed25519_blob(static_cast<unsigned char>(i))),
                       HostKeyStatus::Match, i + 1);
    EXPECT_VERDICT(known.check("host300", 22, kEd, key), HostKeyStatus::NotFound, 0);
}
