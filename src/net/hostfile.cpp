#include "hostfile.hpp"

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
        HostSpec spec;
        std::string reason;
        if (!parse_host_spec(line, spec, &reason)) {
            if (why)
                *why = name + ":" + std::to_string(lineno) + ": '" + line + "': " + reason;
            result = HostFileResult::Malformed;
            break;
        }
        if (!fn(line, lineno)) {
            result = HostFileResult::Stopped;
            break;
        }
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
