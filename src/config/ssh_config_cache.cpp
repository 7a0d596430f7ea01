#include "ssh_config_cache.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace pssh {

namespace {

// Config files are small; a character device (ssh -F /dev/null) is read up
// to this much, a larger file is refused.
constexpr size_t kMaxConfig = 4 << 20;

bool same_file(const struct stat &a, const struct stat &b)
{
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mode == b.st_mode && a.st_uid == b.st_uid && a.st_gid == b.st_gid &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

Failure io_failure(int e, const std::string &path)
{
    Failure f;
    f.set(e == EMFILE || e == ENFILE ? PSSH_E_RESOURCE : PSSH_E_IO, "cannot read " + path + ": " + strerror(e));
    return f;
}

// A group-writable file is safe when its group is its owner's private
// group (Debian's ssh allows that, as umask 002 systems make such files).
bool private_group(const struct stat &st)
{
    std::vector<char> buf(16384);
    passwd pw{}, *pres = nullptr;
    group gr{}, *gres = nullptr;
    if (getpwuid_r(st.st_uid, &pw, buf.data(), buf.size() / 2, &pres) != 0 || !pres || pw.pw_gid != st.st_gid)
        return false;
    if (getgrgid_r(st.st_gid, &gr, buf.data() + buf.size() / 2, buf.size() / 2, &gres) != 0 || !gres)
        return false;
    for (char **m = gr.gr_mem; m && *m; m++)
        if (strcmp(*m, pw.pw_name) != 0)
            return false;
    return true;
}

bool owner_ok(const struct stat &st)
{
    if (st.st_uid != 0 && st.st_uid != getuid())
        return false;
    if (st.st_mode & S_IWOTH)
        return false;
    return !(st.st_mode & S_IWGRP) || private_group(st);
}

// Reads without ever blocking: O_NONBLOCK opens a FIFO at once, and only
// regular files and character devices are read.
Failure read_config(const std::string &path, int fd, const struct stat &st, std::string &out)
{
    out.clear();
    if (S_ISDIR(st.st_mode))
        return {};
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
        Failure f;
        f.set(PSSH_E_IO, "cannot read " + path + ": not a regular file");
        return f;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_failure(errno, path);
        if (n == 0)
            return {};
        if (out.size() + size_t(n) > kMaxConfig)
            return io_failure(EFBIG, path);
        out.append(buf, size_t(n));
    }
}

} // namespace

std::shared_ptr<const SshConfigFile> SshConfigCache::get(const std::string &path, bool check_owner, bool *missing,
                                                         Failure *err)
{
    *missing = false;
    int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = true;
            files_.erase(path);
        } else {
            *err = io_failure(errno, path);
        }
        return nullptr;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        *err = io_failure(errno, path);
        close(fd);
        return nullptr;
    }
    if (check_owner && !owner_ok(st)) {
        close(fd);
        err->set(PSSH_E_IO, "bad owner or permissions on " + path);
        return nullptr;
    }
    Slot &slot = files_[path];
    if (slot.parsed && S_ISREG(st.st_mode) && same_file(slot.id, st)) {
        close(fd);
        return slot.parsed;
    }
    std::string text;
    Failure f = read_config(path, fd, st, text);
    close(fd);
    if (f) {
        *err = std::move(f);
        files_.erase(path);
        return nullptr;
    }
    auto parsed = std::make_shared<SshConfigFile>();
    parse_ssh_config(text, path, *parsed);
    slot.id = st;
    slot.parsed = std::move(parsed);
    return slot.parsed;
}

} // namespace pssh
