#include "local_file.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace pssh {

namespace {

std::string why(const std::string &what, const std::string &path, int err)
{
    return what + " " + path + ": " + strerror(err);
}

} // namespace

std::string path_dir(const std::string &p)
{
    size_t end = p.size();
    while (end > 1 && p[end - 1] == '/')
        end--;
    size_t slash = p.rfind('/', end - 1);
    if (slash == std::string::npos)
        return "";
    if (slash == 0)
        return "/";
    return p.substr(0, slash);
}

std::string path_base(const std::string &p)
{
    size_t end = p.size();
    while (end > 1 && p[end - 1] == '/')
        end--;
    size_t slash = p.rfind('/', end - 1);
    size_t start = slash == std::string::npos ? 0 : slash + 1;
    return p.substr(start, end - start);
}

std::string path_join(const std::string &dir, const std::string &name)
{
    if (dir.empty())
        return name;
    return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string temp_name_near(const std::string &path)
{
    static unsigned counter;
    static std::minstd_rand rng(std::random_device{}());
    char name[64];
    snprintf(name, sizeof name, ".pssh-%d-%u-%08x", int(getpid()), ++counter, unsigned(rng()));
    return path_join(path_dir(path), name);
}

// The root is followed (it is what the caller named); below it, links are
// followed or kept as the caller chose.
static std::string list_into(const std::string &src, const std::string &dst, bool follow,
                             std::vector<XferItem> &out, uint64_t *total, int depth)
{
    struct stat st;
    if ((follow || depth == 0 ? stat(src.c_str(), &st) : lstat(src.c_str(), &st)) != 0)
        return why("cannot read", src, errno);
    XferItem it;
    it.local = src;
    it.remote = dst;
    it.mode = st.st_mode & 07777;
    it.mtime = uint64_t(st.st_mtime);
    it.atime = uint64_t(st.st_atime);
    if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = readlink(src.c_str(), buf, sizeof buf);
        if (n < 0)
            return why("cannot read the link", src, errno);
        it.kind = XferItem::Kind::Link;
        it.target.assign(buf, size_t(n));
        out.push_back(std::move(it));
        return "";
    }
    if (S_ISREG(st.st_mode)) {
        it.size = uint64_t(st.st_size);
        *total += it.size;
        out.push_back(std::move(it));
        return "";
    }
    if (!S_ISDIR(st.st_mode))
        return "not a regular file, directory or link: " + src;
    if (depth > 64)
        return "directories nested over 64 deep (a link loop?): " + src;
    it.kind = XferItem::Kind::Dir;
    out.push_back(std::move(it));
    DIR *d = opendir(src.c_str());
    if (!d)
        return why("cannot list", src, errno);
    std::vector<std::string> names;
    while (dirent *e = readdir(d))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names.emplace_back(e->d_name);
    closedir(d);
    for (const std::string &n : names)
        if (std::string r = list_into(path_join(src, n), path_join(dst, n), follow, out, total, depth + 1);
            !r.empty())
            return r;
    return "";
}

std::string list_local(const std::string &src, const std::string &dst, bool recurse, bool follow,
                       std::vector<XferItem> &out, uint64_t *total)
{
    struct stat st;
    // The source itself is followed when it is a link to a directory or a
    // file: it is what the caller named.
    if (stat(src.c_str(), &st) != 0)
        return why("cannot read", src, errno);
    if (S_ISDIR(st.st_mode) && !recurse)
        return src + " is a directory (copy a tree with recurse)";
    if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))
        return list_into(src, dst, follow, out, total, 0);
    return "not a regular file or directory: " + src;
}

std::string local_mkdir_p(const std::string &dir, mode_t mode)
{
    if (dir.empty())
        return "";
    struct stat st;
    if (stat(dir.c_str(), &st) == 0)
        return S_ISDIR(st.st_mode) ? "" : dir + " exists and is not a directory";
    if (std::string r = local_mkdir_p(path_dir(dir), 0755); !r.empty())
        return r;
    if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
        return why("cannot create the directory", dir, errno);
    return "";
}

// Without keep the kernel gives the temporary 0644 less the umask, as a new
// file gets (the umask is never changed, even for a moment: it is the whole
// process's); with keep it is 0600 until commit gives it its mode.
std::string LocalWriter::open(const std::string &final_path, bool keep)
{
    abandon();
    struct stat st;
    if (stat(final_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return final_path + " is a directory";
    final_ = final_path;
    for (int tries = 0; tries < 8; tries++) {
        tmp_ = temp_name_near(final_path);
        fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, keep ? 0600 : 0644);
        if (fd_ >= 0 || errno != EEXIST)
            break;
    }
    if (fd_ < 0)
        return why("cannot create", tmp_, errno);
    return "";
}

std::string LocalWriter::write(const char *buf, size_t len)
{
    while (len) {
        ssize_t n = ::write(fd_, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return why("cannot write", final_, errno);
        }
        buf += n;
        len -= size_t(n);
    }
    return "";
}

std::string LocalWriter::commit(bool keep, uint32_t mode, uint64_t mtime, uint64_t atime)
{
    if (keep) {
        if (fchmod(fd_, mode_t(mode & 07777)) != 0)
            return why("cannot set the mode of", final_, errno);
        timespec ts[2] = {{time_t(atime), 0}, {time_t(mtime), 0}};
        if (futimens(fd_, ts) != 0)
            return why("cannot set the times of", final_, errno);
    }
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        int e = errno;
        unlink(tmp_.c_str());
        return why("cannot write", final_, e);
    }
    if (rename(tmp_.c_str(), final_.c_str()) != 0) {
        int e = errno;
        unlink(tmp_.c_str());
        return why("cannot rename into place", final_, e);
    }
    tmp_.clear();
    return "";
}

void LocalWriter::abandon() noexcept
{
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!tmp_.empty()) {
        unlink(tmp_.c_str());
        tmp_.clear();
    }
}

} // namespace pssh
