// The local side of a transfer: what to send (a file or a tree, listed
// with lstat), and files written under a temporary name in their own
// directory, renamed into place only once complete, so an interrupted
// transfer never leaves a truncated file under the final name.
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pssh {

// One entry of a transfer, local or remote.
struct XferItem {
    enum class Kind { File, Dir, Link };
    Kind kind = Kind::File;
    std::string local, remote; // full paths
    uint32_t mode = 0;         // permission bits
    uint64_t size = 0;
    uint64_t mtime = 0, atime = 0;
    std::string target;        // a link's target
};

// "a/b/c" -> "a/b"; "c" -> ""; "/c" -> "/".
std::string path_dir(const std::string &p);
// "a/b/c" -> "c"; "a/b/" -> "b".
std::string path_base(const std::string &p);
std::string path_join(const std::string &dir, const std::string &name);
// A temporary name next to `path` (same directory): ".pssh-PID-N-RAND".
std::string temp_name_near(const std::string &path);

// Lists what a put sends: `src` (a file, or with recurse a tree) as items
// whose remote paths are under `dst`. Directories come before what they
// hold. Returns "" or the reason (errno text, naming the path).
std::string list_local(const std::string &src, const std::string &dst, bool recurse, bool follow,
                       std::vector<XferItem> &out, uint64_t *total);

// mkdir -p; "" or the reason.
std::string local_mkdir_p(const std::string &dir, mode_t mode);

// A file being written: a temporary file beside the final name, renamed
// over it by commit(); removed if abandoned.
class LocalWriter {
public:
    LocalWriter() = default;
    LocalWriter(const LocalWriter &) = delete;
    LocalWriter &operator=(const LocalWriter &) = delete;
    ~LocalWriter() { abandon(); }

    // keep: the mode and times are set by commit(). "" or the reason.
    std::string open(const std::string &final_path, bool keep);
    // Writes all of buf; "" or the reason.
    std::string write(const char *buf, size_t len);
    // Mode and times (when keep), then rename into place; "" or the reason.
    std::string commit(bool keep, uint32_t mode, uint64_t mtime, uint64_t atime);
    void abandon() noexcept;
    bool is_open() const noexcept { return fd_ >= 0; }

private:
    int fd_ = -1;
    std::string tmp_, final_;
};

} // namespace pssh
