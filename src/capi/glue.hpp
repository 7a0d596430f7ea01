// What every extern "C" entry shares: no exception crosses the ABI, and a
// handle is checked (non-null, live magic) before use. No logic here.
#pragma once
#include "pssh/pssh.h"

#include <cstring>
#include <new>

namespace pssh {
struct Config;
}

namespace pssh::capi {

template <class F> pssh_err guard(F &&f) noexcept
{
    try {
        return f();
    } catch (const std::bad_alloc &) {
        return PSSH_E_NOMEM;
    } catch (...) {
        return PSSH_E_INTERNAL;
    }
}

// The public opaque type H is the internal T: same object, checked magic.
template <class T, class H> T *unwrap(H *h) noexcept
{
    T *t = reinterpret_cast<T *>(h);
    return t && t->magic == T::kMagic ? t : nullptr;
}
template <class T, class H> const T *unwrap(const H *h) noexcept
{
    const T *t = reinterpret_cast<const T *>(h);
    return t && t->magic == T::kMagic ? t : nullptr;
}
template <class H, class T> H *wrap(T *t) noexcept { return reinterpret_cast<H *>(t); }

// The Config inside a public pssh_config (nullptr if not a live one).
const Config *config_of(const pssh_config *c);

inline bool cmd_opts_ok(const pssh_cmd_opts *o) { return !o || o->version == PSSH_CMD_OPTS_VERSION; }

// A C caller may pass any int as an enum: read it as an int, since loading an
// out-of-range value as the C++ enum type is undefined.
template <class E> int enum_value(const E &e) noexcept
{
    static_assert(sizeof(E) == sizeof(int));
    int v;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

} // namespace pssh::capi
