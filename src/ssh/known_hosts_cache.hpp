// known_hosts files parsed once per loop and read again only when they
// change: with one line per host, reading and scanning the whole file for
// every connection made each connection cost O(fleet size).
#pragma once
#include "known_hosts.hpp"

#include <memory>
#include <string>
#include <sys/stat.h>
#include <unordered_map>

namespace pssh {

class KnownHostsCache {
public:
    // The parsed file, re-read when its identity (device, inode, size,
    // mtime, ctime) differs from the cached one. A missing file is an empty
    // one. nullptr with errno set when it cannot be read.
    std::shared_ptr<const KnownHosts> get(const std::string &path);

private:
    struct Slot {
        struct stat id {};
        std::shared_ptr<const KnownHosts> parsed;
    };
    std::unordered_map<std::string, Slot> files_;
};

} // namespace pssh
