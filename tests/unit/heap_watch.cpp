#include "heap_watch.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <openssl/crypto.h>

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
char notes[2048];
std::string notes_str;
void **live = nullptr; // open addressing set of live blocks (nullptr: empty, kGone: deleted)
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

void track(void *p)
{
    if (!live || !p)
        return;
    for (size_t i = slot_of(p), n = 0; n < kSlots; i = (i + 1) % kSlots, n++)
        if (!live[i] || live[i] == kGone) {
            live[i] = p;
            return;
        }
}

void untrack(void *p)
{
    if (!live || !p)
        return;
    for (size_t i = slot_of(p), n = 0; live[i] && n < kSlots; i = (i + 1) % kSlots, n++)
        if (live[i] == p) {
            live[i] = kGone;
            return;
        }
}

bool holds_secret(const void *p, size_t size)
{
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
    untrack(p);
    if (holds_secret(p, malloc_usable_size(p))) {
        if (freed_hits++ < 8) {
            size_t used = strlen(notes);
            snprintf(notes + used, sizeof notes - used, "%sblock of %zu bytes freed at %s:%d", used ? "; " : "",
                     malloc_usable_size(p), file ? file : "operator delete", line);
        }
    }
}

void note_alloc(void *p)
{
    if (p && watching.load(std::memory_order_relaxed)) {
        Guard g;
        track(p);
    }
}

void *crypto_malloc(size_t n, const char *, int)
{
    void *p = malloc(n);
    note_alloc(p);
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
    memcpy(q, p, std::min(n, malloc_usable_size(p)));
    note_alloc(q);
    crypto_free(p, file, line);
    return q;
}

} // namespace

void *operator new(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        throw std::bad_alloc();
    note_alloc(p);
    return p;
}
void *operator new[](size_t n) { return operator new(n); }
void *operator new(size_t n, const std::nothrow_t &) noexcept
{
    void *p = malloc(n ? n : 1);
    note_alloc(p);
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

bool start()
{
    static bool hooked = CRYPTO_set_mem_functions(crypto_malloc, crypto_realloc, crypto_free) == 1;
    Guard g;
    if (!live)
        live = static_cast<void **>(calloc(kSlots, sizeof(void *)));
    n_needles = 0;
    freed_hits = 0;
    notes[0] = 0;
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

size_t freed_with_secret()
{
    Guard g;
    return freed_hits;
}

const std::string &findings()
{
    bool was = watching.exchange(false);
    notes_str = notes;
    watching = was;
    return notes_str;
}

size_t live_with_secret()
{
    Guard g;
    size_t hits = 0;
    if (live)
        for (size_t i = 0; i < kSlots; i++)
            if (live[i] && live[i] != kGone && holds_secret(live[i], malloc_usable_size(live[i])))
                hits++;
    return hits;
}

void stop() { watching = false; }

} // namespace heapwatch
