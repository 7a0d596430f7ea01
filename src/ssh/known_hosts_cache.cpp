#include "known_hosts_cache.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace pssh {

namespace {

constexpr size_t kMaxKnownHosts = 16 << 20;

bool same_file(const struct stat &a, const struct stat &b)
{
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// Out of descriptors is a resource error everywhere in the library.
Failure file_failure(int e, const std::string &what)
{
    Failure f;
    f.set(e == EMFILE || e == ENFILE ? PSSH_E_RESOURCE : PSSH_E_IO, what + ": " + strerror(e));
    return f;
}

Failure not_regular(const std::string &what)
{
    Failure f;
    f.set(PSSH_E_IO, what + ": not a regular file");
    return f;
}

void set(Failure *out, Failure f)
{
    if (out)
        *out = std::move(f);
}

// The whole file, from a descriptor that cannot block: O_NONBLOCK makes
// opening a FIFO return at once, and only a regular file is read. id: its
// identity before the read (a change during the read leaves a newer one on
// disk, so the next get reads it again).
Failure read_regular(const std::string &path, std::string &out, struct stat &id)
{
    const std::string what = "cannot read " + path;
    out.clear();
    int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return file_failure(errno, what);
    Failure f;
    if (fstat(fd, &id) != 0) {
        f = file_failure(errno, what);
    } else if (!S_ISREG(id.st_mode)) {
        f = not_regular(what);
    } else if (size_t(id.st_size) > kMaxKnownHosts) {
        f = file_failure(EFBIG, what);
    } else {
        out.reserve(size_t(id.st_size));
        char buf[16384];
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                f = file_failure(errno, what);
                break;
            }
            if (n == 0)
                break;
            if (out.size() + size_t(n) > kMaxKnownHosts) {
                f = file_failure(EFBIG, what);
                break;
            }
            out.append(buf, size_t(n));
        }
    }
    close(fd);
    return f;
}

// Opens for appending, making the parent directory when it is missing.
int open_for_append(const std::string &path, Failure &f)
{
    // Read too: the last byte says whether a newline must come first.
    const int flags = O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC;
    int fd = open(path.c_str(), flags, 0600);
    if (fd < 0 && errno == ENOENT) {
        auto slash = path.rfind('/');
        if (slash != std::string::npos && slash > 0) {
            const std::string dir = path.substr(0, slash);
            if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
                f = file_failure(errno, "cannot create the directory " + dir);
                return -1;
            }
            fd = open(path.c_str(), flags, 0600);
        }
    }
    if (fd < 0)
        f = file_failure(errno, "cannot append to " + path);
    return fd;
}

} // namespace

std::shared_ptr<const KnownHosts> KnownHostsCache::get(const std::string &path, uint64_t *version, Failure *err)
{
    struct stat now {};
    if (stat(path.c_str(), &now) != 0) {
        if (errno != ENOENT) {
            set(err, file_failure(errno, "cannot read " + path));
            return nullptr;
        }
        files_.erase(path); // a file made later must be read
        static const auto empty = std::make_shared<const KnownHosts>(std::string());
        if (version)
            *version = 0;
        return empty;
    }
    Slot &slot = files_[path];
    if (!slot.parsed || !same_file(slot.id, now)) {
        std::string text;
        Failure f = read_regular(path, text, slot.id);
        if (f) {
            files_.erase(path);
            set(err, std::move(f));
            return nullptr;
        }
        slot.parsed = std::make_shared<KnownHosts>(std::move(text));
        slot.version = ++next_version_;
    }
    if (version)
        *version = slot.version;
    return slot.parsed;
}

Failure KnownHostsCache::append(const std::string &path, const std::string &line)
{
    Failure f;
    int fd = open_for_append(path, f);
    if (fd < 0) {
        files_.erase(path);
        return f;
    }
    const std::string what = "cannot append to " + path;
    struct stat before {}, after {};
    if (fstat(fd, &before) != 0)
        f = file_failure(errno, what);
    else if (!S_ISREG(before.st_mode))
        f = not_regular(what);
    if (f) {
        close(fd);
        files_.erase(path);
        return f;
    }
    std::string data;
    char last = 0;
    if (before.st_size > 0 && (pread(fd, &last, 1, before.st_size - 1) != 1 || last != '\n'))
        data = "\n"; // the last line has no newline: ours must not run on from it
    data += line;
    if (data.back() != '\n')
        data += '\n';
    // One write: never half a line, and never a line cut by another writer's.
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
        f = file_failure(errno, what);
    } else if (size_t(n) < data.size()) {
        // Disk full or a file size limit: take the piece back if nobody
        // wrote after it.
        bool undone = fstat(fd, &after) == 0 && after.st_size == before.st_size + n &&
                      ftruncate(fd, before.st_size) == 0;
        f.set(PSSH_E_IO, what + ": only " + std::to_string(n) + " of " + std::to_string(data.size()) +
                             " bytes written (disk full, or a file size limit)" +
                             (undone ? ", taken back" : ""));
    }
    bool known = !f && fstat(fd, &after) == 0;
    if (close(fd) != 0 && !f) // NFS reports write errors at close
        f = file_failure(errno, what);
    auto it = files_.find(path);
    if (f) {
        if (it != files_.end())
            files_.erase(it);
        return f;
    }
    // The cached parse is still the file as it was, plus our line: add the
    // line instead of reading the file again (accept-new's first contact
    // with N hosts was O(N^2) reading). Anything else: read it next time.
    if (it != files_.end() && known && same_file(it->second.id, before) && after.st_dev == before.st_dev &&
        after.st_ino == before.st_ino && after.st_size == before.st_size + n) {
        it->second.parsed->append(line);
        it->second.id = after;
        it->second.version = ++next_version_;
    } else if (it != files_.end()) {
        files_.erase(it);
    }
    return {};
}

} // namespace pssh
