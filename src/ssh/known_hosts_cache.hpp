// known_hosts files parsed once per loop and read again only when they
// change: with one line per host, reading and scanning the whole file for
// every connection made each connection cost O(fleet size). Lines the loop
// appends itself (accept-new) are added to the parsed file, not read back.
#pragma once
#include "../util/failure.hpp"
#include "known_hosts.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unordered_map>

namespace pssh {

class KnownHostsCache {
public:
    // The parsed file, read again when its identity (device, inode, size,
    // mtime, ctime) differs from the cached one. A missing file is an empty
    // one. *version changes whenever the content seen changes (a new read,
    // or one of our appends); 0 for a missing file. nullptr when the file
    // cannot be read, or is not a regular file (a FIFO would block the loop):
    // *err says why (PSSH_E_IO, PSSH_E_RESOURCE when out of descriptors).
    // What a caller holds stays valid; it may gain our appended lines.
    std::shared_ptr<const KnownHosts> get(const std::string &path, uint64_t *version = nullptr,
                                          Failure *err = nullptr);

    // Appends one line (known_hosts_line) to the file, in one write, on a
    // line of its own (a newline first if the file does not end with one).
    // A missing parent directory is made, mode 0700, the last component
    // only, as ssh makes ~/.ssh. O_APPEND: on a local file system, lines
    // appended at once by several processes each land whole. A write cut
    // short (disk full, file size limit) is taken back when no other writer
    // came in between. Returns the failure, if any (as for get).
    Failure append(const std::string &path, const std::string &line);

private:
    struct Slot {
        struct stat id {};
        std::shared_ptr<KnownHosts> parsed;
        uint64_t version = 0;
    };
    std::unordered_map<std::string, Slot> files_;
    uint64_t next_version_ = 0;
};

} // namespace pssh
