// ssh_config files read once per loop and again only when they change (as
// the known_hosts cache does): a parallel client of 1,000 hosts resolves
// each host's settings from the same parsed files. It also remembers which
// warnings the loop has given, so that each is given once.
#pragma once
#include "../util/failure.hpp"
#include "ssh_config_file.hpp"

#include <memory>
#include <set>
#include <string>
#include <sys/stat.h>
#include <unordered_map>

namespace pssh {

class SshConfigCache {
public:
    // The parsed file (a bad line is in its `error`), or nullptr: *missing
    // when there is no such file (not an error for ssh), *err otherwise
    // (PSSH_E_IO: unreadable, a FIFO, too big; with check_owner, owned by
    // another user or writable by others, as ssh refuses included files).
    // A directory reads as an empty file, as it does for ssh.
    std::shared_ptr<const SshConfigFile> get(const std::string &path, bool check_owner, bool *missing,
                                             Failure *err);

    // True the first time `key` is seen: say it once.
    bool first_time(const std::string &key) { return said_.insert(key).second; }

private:
    struct Slot {
        struct stat id {};
        std::shared_ptr<const SshConfigFile> parsed;
    };
    std::unordered_map<std::string, Slot> files_;
    std::set<std::string> said_;
};

} // namespace pssh
