#include "../net/hostfile.hpp"
#include "../net/hostrange.hpp"
#include "../net/hostspec.hpp"
#include "glue.hpp"

#include <cstdio>

using pssh::capi::guard;

namespace {
void put(char *why, size_t len, const std::string &msg)
{
    if (why && len)
        snprintf(why, len, "%s", msg.c_str());
}
} // namespace

extern "C" {

PSSH_API pssh_err pssh_host_check(const char *host, char *why, size_t whylen)
{
    if (!host)
        return PSSH_E_INVAL;
    return guard([&] {
        pssh::HostSpec spec;
        std::string reason;
        if (pssh::parse_host_spec(host, spec, &reason)) {
            put(why, whylen, "");
            return PSSH_OK;
        }
        put(why, whylen, reason);
        return PSSH_E_HOST_ARG;
    });
}

PSSH_API pssh_err pssh_hosts_read_file(const char *path, pssh_host_fn *fn, void *userdata, char *why,
                                       size_t whylen)
{
    if (!path || !fn)
        return PSSH_E_INVAL;
    return guard([&] {
        std::string msg;
        auto r = pssh::read_host_file(
            path, [&](const std::string &h, unsigned line) { return fn(h.c_str(), line, userdata) == 0; }, &msg);
        put(why, whylen, msg);
        switch (r) {
        case pssh::HostFileResult::Ok:
            return PSSH_OK;
        case pssh::HostFileResult::Unreadable:
            return PSSH_E_IO;
        case pssh::HostFileResult::Malformed:
            return PSSH_E_HOST_ARG;
        case pssh::HostFileResult::Stopped:
            return PSSH_E_INVAL;
        }
        return PSSH_E_INTERNAL;
    });
}

PSSH_API pssh_err pssh_hosts_expand(const char *pattern, pssh_host_fn *fn, void *userdata, char *why,
                                    size_t whylen)
{
    if (!pattern || !fn)
        return PSSH_E_INVAL;
    return guard([&] {
        std::string msg;
        auto r = pssh::expand_host_ranges(
            pattern, [&](const std::string &h) { return fn(h.c_str(), 0, userdata) == 0; }, &msg);
        put(why, whylen, msg);
        switch (r) {
        case pssh::HostRangeResult::Ok:
            return PSSH_OK;
        case pssh::HostRangeResult::Malformed:
            return PSSH_E_HOST_ARG;
        case pssh::HostRangeResult::Stopped:
            return PSSH_E_INVAL;
        }
        return PSSH_E_INTERNAL;
    });
}

} // extern "C"
