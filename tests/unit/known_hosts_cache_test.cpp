// KnownHostsCache: a file is parsed once and read again only when it changes
// on disk (appended to, rewritten, replaced, removed).
#include "known_hosts_support.hpp"
#include "ssh/known_hosts_cache.hpp"

#include <cerrno>
#include <cstdio>
#include <sys/stat.h>

using pssh::HostKeyStatus;
using pssh::KnownHostsCache;
using unit::ed25519_blob;
using unit::kh_line;

namespace {

const std::string kEd = "ssh-ed25519";

bool append_file(const std::string &path, const std::string &data)
{
    FILE *f = fopen(path.c_str(), "a");
    if (!f)
        return false;
    bool ok = fwrite(data.data(), 1, data.size(), f) == data.size();
    return fclose(f) == 0 && ok;
}

} // namespace

Test(known_hosts_cache, parsed_once_until_the_file_changes)
{
    unit::TempDir dir;
    const std::string path = dir.file("known_hosts");
    cr_assert(unit::write_file(path, kh_line("a", kEd, ed25519_blob(1)) + "\n"));
    KnownHostsCache cache;
    auto first = cache.get(path);
    cr_assert(first);
    cr_assert(cache.get(path) == first, "an unchanged file was parsed again");
    EXPECT_VERDICT(first->check("b", 22, kEd, ed25519_blob(2)), HostKeyStatus::NotFound, 0);

    cr_assert(append_file(path, kh_line("b", kEd, ed25519_blob(2)) + "\n"));
    auto second = cache.get(path);
    cr_assert(second && second != first, "an appended file was not read again");
    EXPECT_VERDICT(second->check("b", 22, kEd, ed25519_blob(2)), HostKeyStatus::Match, 2);
    // What a caller still holds stays valid.
    EXPECT_VERDICT(first->check("a", 22, kEd, ed25519_blob(1)), HostKeyStatus::Match, 1);
}

Test(known_hosts_cache, a_same_size_replacement_is_seen)
{
    unit::TempDir dir;
    const std::string path = dir.file("known_hosts"), next = dir.file("next");
    cr_assert(unit::write_file(path, kh_line("a", kEd, ed25519_blob(1)) + "\n"));
    KnownHostsCache cache;
    auto first = cache.get(path);
    // Same length, other key, moved into place as editors and ssh-keygen -R do.
    cr_assert(unit::write_file(next, kh_line("a", kEd, ed25519_blob(2)) + "\n"));
    cr_assert(rename(next.c_str(), path.c_str()) == 0);
    auto second = cache.get(path);
    cr_assert(second && second != first);
    EXPECT_VERDICT(second->check("a", 22, kEd, ed25519_blob(2)), HostKeyStatus::Match, 1);
}

Test(known_hosts_cache, missing_and_unreadable_files)
{
    unit::TempDir dir;
    const std::string path = dir.file("known_hosts");
    KnownHostsCache cache;
    auto none = cache.get(path); // missing: empty, so strict says "unknown host"
    cr_assert(none);
    EXPECT_VERDICT(none->check("a", 22, kEd, ed25519_blob(1)), HostKeyStatus::NotFound, 0);

    cr_assert(unit::write_file(path, kh_line("a", kEd, ed25519_blob(1)) + "\n"));
    EXPECT_VERDICT(cache.get(path)->check("a", 22, kEd, ed25519_blob(1)), HostKeyStatus::Match, 1);
    cr_assert(unlink(path.c_str()) == 0);
    EXPECT_VERDICT(cache.get(path)->check("a", 22, kEd, ed25519_blob(1)), HostKeyStatus::NotFound, 0);

    errno = 0;
    cr_assert(cache.get(dir.path()) == nullptr, "a directory read as a known_hosts file");
    cr_expect(errno == EISDIR, "errno %d, want EISDIR", errno);
}
