#include "heap_watch.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <openssl/crypto.h>
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

namespace {

// Everything here is plain C storage: the hooks must not allocate through
// themselves.
constexpr size_t kNeedles = 16, kNeedleMax = 1024, kSlots = 1 << 20;
struct Needle {
    size_t len = 0;
    unsigned char fwd[kNeedleMax], rev[kNeedleMax];
};
Needle needles[kNeedles];
size_t n_needles = 0;
std::atomic<bool> watching{false};
std::atomic_flag lock = ATOMIC_FLAG_INIT;
size_t freed_hits = 0;
const char *ignored[8];
size_t n_ignored = 0;
// Where blocks holding a secret were freed (file is nullptr for operator
// delete), counted per place.
struct Place {
    const char *file;
    int line;
    size_t count, size;
};
constexpr size_t kPlaces = 32;
Place places[kPlaces];
std::string notes_str;
// Live blocks and their requested sizes, in an open-addressing table
// (p == nullptr: empty; kGone: deleted). Only the requested bytes are
// searched: the slack of a reused chunk may hold what an earlier owner left.
struct Block {
    void *p;
    size_t n;
};
Block *live = nullptr;
void *const kGone = reinterpret_cast<void *>(1);

struct Guard {
    Guard()
    {
        while (lock.test_and_set(std::memory_order_acquire)) {
        }
    }
    ~Guard() { lock.clear(std::memory_order_release); }
};

size_t slot_of(void *p) { return (reinterpret_cast<uintptr_t>(p) >> 4) * 0x9E3779B97F4A7C15ull % kSlots; }

void track(void *p, size_t n)
{
    if (!live || !p)
        return;
    for (size_t i = slot_of(p), k = 0; k < kSlots; i = (i + 1) % kSlots, k++)
        if (!live[i].p || live[i].p == kGone) {
            live[i] = {p, n};
            return;
        }
}

// The block's requested size, or its usable size when it was allocated
// before watching began.
size_t untrack(void *p)
{
    if (live && p)
        for (size_t i = slot_of(p), k = 0; live[i].p && k < kSlots; i = (i + 1) % kSlots, k++)
            if (live[i].p == p) {
                live[i].p = kGone;
                return live[i].n;
            }
    return malloc_usable_size(p);
}

bool holds_secret(const void *p, size_t size)
{
    // Padding nobody wrote (OSSL_PARAM arrays have some) is searched too:
    // under valgrind, say that reading it is meant.
    VALGRIND_MAKE_MEM_DEFINED(p, size);
    const auto *b = static_cast<const unsigned char *>(p);
    for (size_t k = 0; k < n_needles; k++) {
        const Needle &nd = needles[k];
        if (size >= nd.len && (memmem(b, size, nd.fwd, nd.len) || memmem(b, size, nd.rev, nd.len)))
            return true;
    }
    return false;
}

void inspect(void *p, const char *file, int line)
{
    if (!p || !watching.load(std::memory_order_relaxed))
        return;
    Guard g;
    size_t n = untrack(p);
    if (!holds_secret(p, n))
        return;
    for (size_t i = 0; file && i < n_ignored; i++)
        if (strstr(file, ignored[i]))
            return;
    freed_hits++;
    for (size_t i = 0; i < kPlaces; i++)
        if (places[i].count == 0 || (places[i].file == file && places[i].line == line)) {
            places[i] = {file, line, places[i].count + 1, n};
            break;
        }
}

// New blocks start zeroed while watching: a reused chunk must not bring
// along bytes an earlier owner left (the test's own copies of the secrets,
// made before watching began).
void note_alloc(void *p, size_t n)
{
    if (p && watching.load(std::memory_order_relaxed)) {
        memset(p, 0, n);
        Guard g;
        track(p, n);
    }
}

size_t size_of(void *p)
{
    if (!watching.load(std::memory_order_relaxed))
        return malloc_usable_size(p);
    Guard g;
    if (live)
        for (size_t i = slot_of(p), k = 0; live[i].p && k < kSlots; i = (i + 1) % kSlots, k++)
            if (live[i].p == p)
                return live[i].n;
    return malloc_usable_size(p);
}

void *crypto_malloc(size_t n, const char *, int)
{
    void *p = malloc(n);
    note_alloc(p, n);
    return p;
}

void crypto_free(void *p, const char *file, int line)
{
    inspect(p, file, line);
    free(p);
}

// A moving realloc frees the old block: inspect it like a free.
void *crypto_realloc(void *p, size_t n, const char *file, int line)
{
    if (!p)
        return crypto_malloc(n, file, line);
    void *q = malloc(n);
    if (!q)
        return nullptr;
    note_alloc(q, n);
    memcpy(q, p, std::min(n, size_of(p)));
    crypto_free(p, file, line);
    return q;
}

} // namespace

void *operator new(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        throw std::bad_alloc();
    note_alloc(p, n);
    return p;
}
void *operator new[](size_t n) { return operator new(n); }
void *operator new(size_t n, const std::nothrow_t &) noexcept
{
    void *p = malloc(n ? n : 1);
    note_alloc(p, n);
    return p;
}
void *operator new[](size_t n, const std::nothrow_t &t) noexcept { return operator new(n, t); }
void operator delete(void *p) noexcept
{
    inspect(p, nullptr, 0);
    free(p);
}
void operator delete[](void *p) noexcept { operator delete(p); }
void operator delete(void *p, size_t) noexcept { operator delete(p); }
void operator delete[](void *p, size_t) noexcept { operator delete(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { operator delete(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { operator delete(p); }

namespace heapwatch {

// Before anything else of this binary can make OpenSSL allocate (static
// initializers included): the hooks only pass through until start().
bool hooked = false;
__attribute__((constructor(101))) void hook_openssl()
{
    hooked = CRYPTO_set_mem_functions(crypto_malloc, crypto_realloc, crypto_free) == 1;
}

bool start()
{
    Guard g;
    if (!live)
        live = static_cast<Block *>(calloc(kSlots, sizeof(Block)));
    n_needles = 0;
    n_ignored = 0;
    freed_hits = 0;
    memset(places, 0, sizeof places);
    watching = hooked && live;
    return watching;
}

void watch(std::string_view s)
{
    Guard g;
    if (n_needles == kNeedles || s.size() < 8)
        return;
    Needle &nd = needles[n_needles++];
    nd.len = std::min(s.size(), kNeedleMax);
    memcpy(nd.fwd, s.data(), nd.len);
    std::reverse_copy(nd.fwd, nd.fwd + nd.len, nd.rev);
}

void ignore_frees_in(const char *source_file)
{
    Guard g;
    if (n_ignored < 8)
        ignored[n_ignored++] = source_file;
}

size_t freed_with_secret()
{
    Guard g;
    return freed_hits;
}

const std::string &findings()
{
    bool was = watching.exchange(false);
    notes_str.clear();
    for (const Place &pl : places) {
        if (!pl.count)
            break;
        char buf[256];
        snprintf(buf, sizeof buf, "%s%zu x %s:%d (%zu bytes)", notes_str.empty() ? "" : "; ", pl.count,
                 pl.file ? pl.file : "operator delete", pl.line, pl.size);
        notes_str += buf;
    }
    watching = was;
    return notes_str;
}

size_t live_with_secret()
{
    Guard g;
    size_t hits = 0;
    if (live)
        for (size_t i = 0; i < kSlots; i++)
            if (live[i].p && live[i].p != kGone && holds_secret(live[i].p, live[i].n))
                hits++;
    return hits;
}

void stop() { watching = false; }

} // namespace heapwatch
