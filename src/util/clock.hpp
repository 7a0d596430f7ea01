// The one clock every deadline uses: CLOCK_MONOTONIC, in nanoseconds.
#pragma once
#include <cstdint>
#include <ctime>

namespace pssh {

using Nanos = int64_t;
constexpr Nanos kNever = INT64_MAX;

inline Nanos now_ns() noexcept
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Nanos(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline Nanos ms_to_ns(int64_t ms) noexcept { return ms * 1000000; }

// A deadline `ms` from now; ms < 0 means no deadline.
inline Nanos deadline_after_ms(int64_t ms) noexcept
{
    return ms < 0 ? kNever : now_ns() + ms_to_ns(ms);
}

inline double ns_to_ms(Nanos ns) noexcept { return double(ns) / 1e6; }

} // namespace pssh
