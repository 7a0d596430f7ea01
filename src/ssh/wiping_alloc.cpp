#include "wiping_alloc.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <openssl/crypto.h>

namespace pssh {

namespace {

// The block's size sits in front of it, in a header that keeps malloc's
// alignment.
constexpr size_t kHeader = alignof(std::max_align_t);

size_t &size_of(void *block) { return *reinterpret_cast<size_t *>(static_cast<char *>(block) - kHeader); }

} // namespace

LIBSSH2_ALLOC_FUNC(wiping_alloc)
{
    (void)abstract;
    if (count > SIZE_MAX - kHeader)
        return nullptr;
    char *p = static_cast<char *>(malloc(count + kHeader));
    if (!p)
        return nullptr;
    *reinterpret_cast<size_t *>(p) = count;
    return p + kHeader;
}

LIBSSH2_FREE_FUNC(wiping_free)
{
    (void)abstract;
    if (!ptr)
        return;
    OPENSSL_cleanse(ptr, size_of(ptr));
    free(static_cast<char *>(ptr) - kHeader);
}

// A moving realloc would leave the old block unwiped: always copy.
LIBSSH2_REALLOC_FUNC(wiping_realloc)
{
    if (!ptr)
        return wiping_alloc(count, abstract);
    size_t old = size_of(ptr);
    if (count <= old) {
        OPENSSL_cleanse(static_cast<char *>(ptr) + count, old - count);
        size_of(ptr) = count;
        return ptr;
    }
    void *p = wiping_alloc(count, abstract);
    if (!p)
        return nullptr;
    memcpy(p, ptr, old);
    wiping_free(ptr, abstract);
    return p;
}

} // namespace pssh
