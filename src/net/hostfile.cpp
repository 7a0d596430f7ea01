#include "hostfile.hpp"

#include "hostrange.hpp"
#include "hostspec.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pssh {

namespace {
std::string trim(const std::string &s)
{
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos)
        return {};
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}
} // namespace

HostFileResult read_host_file(const std::string &path,
                              const std::function<bool(const std::string &, unsigned)> &fn, std::string *why)
{
    const bool is_stdin = path == "-";
    FILE *f = is_stdin ? stdin : fopen(path.c_str(), "re");
    if (!f) {
        if (why)
            *why = path + ": " + strerror(errno);
        return HostFileResult::Unreadable;
    }
    const std::string name = is_stdin ? "<stdin>" : path;
    HostFileResult result = HostFileResult::Ok;
    char *buf = nullptr;
    size_t cap = 0;
    unsigned lineno = 0;
    ssize_t n;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        std::string line(buf, size_t(n));
        if (auto hash = line.find('#'); hash != std::string::npos)
            line.erase(hash);
        line = trim(line);
        if (line.empty())
            continue;
        // Each line is a host pattern: ranges and lists expand here.
        std::string reason;
        auto each = [&](const std::string &host) {
            HostSpec spec;
            if (!parse_host_spec(host, spec, &reason)) {
                reason = "'" + host + "': " + reason;
                result = HostFileResult::Malformed;
                return false;
            }
            if (!fn(host, lineno)) {
                result = HostFileResult::Stopped;
                return false;
            }
            return true;
        };
        if (expand_host_ranges(line, each, &reason) == HostRangeResult::Malformed)
            result = HostFileResult::Malformed;
        if (result == HostFileResult::Malformed && why)
            *why = name + ":" + std::to_string(lineno) + ": " + reason;
        if (result != HostFileResult::Ok)
            break;
    }
    if (result == HostFileResult::Ok && ferror(f)) {
        if (why)
            *why = name + ": read error";
        result = HostFileResult::Unreadable;
    }
    free(buf);
    if (!is_stdin)
        fclose(f);
    return result;
}

} // namespace pssh
