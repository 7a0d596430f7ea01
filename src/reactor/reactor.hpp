// The reactor: one per thread. It knows descriptors, deadlines and deferred
// work, and nothing of SSH.
//
// Registrations are named by a Token = (generation << 32 | slot). The backend
// carries the token, and dispatch compares the slot's current generation, so
// an event for a descriptor that was removed (and whose number the kernel may
// already have handed to someone else) reaches nobody.
#pragma once
#include "../util/clock.hpp"
#include "../util/list.hpp"
#include "backend.hpp"
#include "timer_heap.hpp"

#include <cstdint>
#include <mutex>
#include <vector>

namespace pssh {

enum : unsigned { EV_READ = backend::kRead, EV_WRITE = backend::kWrite };

class IoHandler {
public:
    virtual void on_io(unsigned events) = 0;

protected:
    ~IoHandler() = default;
};

using Token = uint64_t;
constexpr Token kNoToken = 0;

struct DeferTag {};
// Work to run on the next turn of the loop, without waiting for I/O: used
// when a flow can make progress on data libssh2 already buffered.
class Deferred : public Linked<DeferTag> {
public:
    using Fn = void (*)(void *ctx);
    Deferred(Fn fn, void *ctx) noexcept : fn_(fn), ctx_(ctx) {}
    bool queued() const noexcept { return in_list(); }
    void cancel() noexcept { leave_list(); }

private:
    friend class Reactor;
    Fn fn_;
    void *ctx_;
};

class Reactor {
public:
    Reactor() = default;
    Reactor(const Reactor &) = delete;
    Reactor &operator=(const Reactor &) = delete;
    ~Reactor();

    // 0 or -errno.
    int init();
    int fd() const noexcept { return bfd_; }

    // Watch fd for events (EV_READ|EV_WRITE, may be 0). kNoToken on failure
    // (errno set).
    Token add(int fd, unsigned events, IoHandler *h);
    // Change the interest; a no-op when unchanged. 0 or -errno.
    int watch(Token t, unsigned events);
    // Stop watching. Call before close(fd). Safe during dispatch.
    void remove(Token t) noexcept;

    void arm(Timer &t, Nanos deadline) { timers_.arm(t, deadline); }
    void cancel(Timer &t) noexcept { timers_.cancel(t); }
    void defer(Deferred &d) noexcept
    {
        if (!d.queued())
            deferred_.push_back(&d);
    }

    // Cross-thread: run fn(ctx, arg) on the loop's thread soon. Safe from
    // any thread; the only entry that is.
    using PostFn = void (*)(void *ctx, uintptr_t arg);
    void post(PostFn fn, void *ctx, uintptr_t arg);
    void wakeup() noexcept;
    // Runs what other threads posted, now (used at teardown).
    void flush_posted() { run_posted(); }

    // One turn: wait at most timeout_ms (-1: no limit), then dispatch I/O,
    // expired timers and deferred work. 0 or -errno from the backend.
    int run_once(int timeout_ms);
    // Milliseconds until something is due (-1: nothing scheduled).
    int timeout_ms() const noexcept;
    bool dispatching() const noexcept { return depth_ > 0; }

    // Operations in progress (connections, commands, lookups). pssh_loop_run
    // runs until this is zero.
    void hold() noexcept { ++active_; }
    void release() noexcept { --active_; }
    long active() const noexcept { return active_; }
    size_t timers() const noexcept { return timers_.size(); }

private:
    struct Slot {
        int fd = -1;
        uint32_t gen = 1;
        unsigned events = 0;
        bool in_backend = false;
        IoHandler *h = nullptr;
        uint32_t next_free = 0;
    };
    struct Posted {
        PostFn fn;
        void *ctx;
        uintptr_t arg;
    };
    Slot *lookup(Token t) noexcept;
    int apply(uint32_t idx, unsigned events);
    void drain_wakeup() noexcept;
    void run_posted();
    void run_deferred();

    int bfd_ = -1;
    int wake_rd_ = -1, wake_wr_ = -1; // eventfd: both the same fd
    std::vector<Slot> slots_;
    uint32_t free_head_ = UINT32_MAX;
    TimerHeap timers_;
    List<Deferred, DeferTag> deferred_;
    std::mutex post_mu_;
    std::vector<Posted> posted_, running_;
    int depth_ = 0;
    long active_ = 0;
};

} // namespace pssh
