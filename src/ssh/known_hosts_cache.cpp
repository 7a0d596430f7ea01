#include "known_hosts_cache.hpp"

#include <cerrno>

namespace pssh {

namespace {

constexpr size_t kMaxKnownHosts = 16 << 20;

bool same_file(const struct stat &a, const struct stat &b)
{
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

} // namespace

std::shared_ptr<const KnownHosts> KnownHostsCache::get(const std::string &path)
{
    struct stat now {};
    if (stat(path.c_str(), &now) != 0) {
        if (errno != ENOENT)
            return nullptr;
        files_.erase(path); // a file made later must be read
        static const auto empty = std::make_shared<const KnownHosts>(std::string());
        return empty;
    }
    Slot &slot = files_[path];
    if (slot.parsed && same_file(slot.id, now))
        return slot.parsed;
    // Stat before reading: a change during the read leaves a newer identity
    // on disk than the cached one, so the next get reads the file again.
    std::string text;
    if (!read_small_file(path, text, kMaxKnownHosts)) {
        int e = errno;
        files_.erase(path);
        errno = e;
        return nullptr;
    }
    slot.id = now;
    slot.parsed = std::make_shared<const KnownHosts>(std::move(text));
    return slot.parsed;
}

} // namespace pssh
