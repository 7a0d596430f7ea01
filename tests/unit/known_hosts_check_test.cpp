// HostKeyCheck without libssh2: the steps a session takes around its
// handshake (lookup and preference before, verify after).
#include "known_hosts_support.hpp"
#include "ssh/host_key_check.hpp"
#include "ssh/known_hosts_cache.hpp"

#include <algorithm>

using pssh::HostKeyCheck;
using pssh::KnownHostsCache;
using unit::ed25519_blob;
using unit::kh_line;

namespace {

const std::string kEd = "ssh-ed25519";
const std::string kEc = "ecdsa-sha2-nistp256";

// Host "h" on port 2222.
void fill(pssh::Settings &st, const std::string &path, pssh_host_key_policy policy)
{
    st.host = "h";
    st.port = 2222;
    st.cfg.known_hosts = path;
    st.cfg.policy = policy;
}

} // namespace

// The host is looked up once, before the handshake; if the file changed
// before the verdict (another connection to the same host added it), the
// verdict reads it again: two handshakes to one new host add one line.
Test(known_hosts_check, a_change_during_the_handshake_is_seen)
{
    unit::TempDir dir;
    const std::string path = dir.file("known_hosts");
    KnownHostsCache cache;
    pssh::Settings st;
    fill(st, path, PSSH_HOSTKEY_ACCEPT_NEW);
    HostKeyCheck a, b;
    cr_assert(!a.lookup(cache, st));
    cr_assert(!b.lookup(cache, st));
    EXPECT_STR_EQ(a.preference(), "");
    bool added = false;
    pssh::Failure f = a.verify(cache, st, kEd, ed25519_blob(1), &added);
    cr_assert(!f && added, "%s", f.msg.c_str());
    f = b.verify(cache, st, kEd, ed25519_blob(1), &added);
    cr_assert(!f, "%s", f.msg.c_str());
    cr_expect(!added, "the same host was added twice");
    const std::string text = unit::read_file(path);
    cr_expect(std::count(text.begin(), text.end(), '\n') == 1, "%s", unit::show(text).c_str());
    // The next connection asks for the type now known first.
    HostKeyCheck c;
    cr_assert(!c.lookup(cache, st));
    cr_expect(c.preference().rfind(kEd + ",", 0) == 0, "%s", c.preference().c_str());
}

// Issue 14 item 4: the message says which types are known and which key
// the server showed; nothing is added, whatever the policy.
Test(known_hosts_check, other_type_message)
{
    unit::TempDir dir;
    const std::string path = dir.file("known_hosts");
    const std::string text = kh_line("[h]:2222", kEc, unit::ecdsa_blob(1)) + "\n";
    cr_assert(unit::write_file(path, text));
    KnownHostsCache cache;
    for (pssh_host_key_policy p : {PSSH_HOSTKEY_STRICT, PSSH_HOSTKEY_ACCEPT_NEW}) {
        HostKeyCheck check;
        pssh::Settings st;
        fill(st, path, p);
        cr_assert(!check.lookup(cache, st));
        EXPECT_STR_EQ(check.preference().substr(0, kEc.size() + 1), kEc + ",");
        bool added = true;
        pssh::Failure f = check.verify(cache, st, kEd, ed25519_blob(1), &added);
        cr_expect(f.code == PSSH_E_HOSTKEY && !added, "%d %s", int(f.code), f.msg.c_str());
        for (const std::string &want : {kEc, kEd, path + ":1", std::string("MISMATCH")})
            cr_expect(f.msg.find(want) != std::string::npos, "no \"%s\" in: %s", want.c_str(), f.msg.c_str());
        cr_expect(f.msg.find("accept-new") == std::string::npos, "%s", f.msg.c_str());
    }
    EXPECT_STR_EQ(unit::read_file(path), text);
}
