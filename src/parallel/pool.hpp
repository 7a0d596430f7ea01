// The pool: how many hosts may be setting up at once (connect,
// authenticate, open a channel, start the command). What waits for a slot
// waits in order, and keeps its place when the parallel client that queued
// it is released or starts another run: the pool lives as long as anything
// queued in it or holding one of its slots, so the bound holds for every
// run of one client, whatever the caller releases.
#pragma once
#include "../util/list.hpp"
#include "../util/ref.hpp"

#include <cstddef>

namespace pssh {

struct PoolTag {};
class Pool;

// Something that waits for a setup slot.
class Pooled : public Linked<PoolTag> {
public:
    // Its turn came: it holds a slot until leave_slot().
    virtual void admit() = 0;

protected:
    Pooled() = default;
    ~Pooled(); // leaves the queue, or gives its slot back
    // Waits in p's queue (started at once if a slot is free).
    void join_pool(Ref<Pool> p);
    // Started, or over: the slot goes to the next in line. Idempotent.
    void leave_slot() noexcept;
    bool waiting_for_slot() const noexcept { return in_list(); }
    // Gives up its place in the queue (it will not start).
    void leave_queue() noexcept { leave_list(); }

private:
    friend class Pool;
    Ref<Pool> pool_;
    bool holds_slot_ = false;
};

class Pool final : public RefCounted {
public:
    explicit Pool(size_t limit) noexcept : limit_(limit) {}
    void set_limit(size_t n);
    size_t in_setup() const noexcept { return in_setup_; }

private:
    friend class Pooled;
    void enqueue(Pooled *p);
    void slot_freed();
    void pump();

    size_t limit_;
    size_t in_setup_ = 0;
    bool pumping_ = false;
    List<Pooled, PoolTag> queue_;
};

} // namespace pssh
