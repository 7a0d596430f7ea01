// A binary min-heap of deadlines. Each Timer knows its heap index, so
// cancelling is O(log n) and nothing stale stays behind.
#pragma once
#include "../util/clock.hpp"

#include <cstdint>
#include <vector>

namespace pssh {

class TimerHeap;

// Embedded in its owner; the owner's destructor must cancel it (Timer's own
// destructor does, through the heap it was armed on).
class Timer {
public:
    using Fn = void (*)(void *ctx);
    Timer(Fn fn, void *ctx) noexcept : fn_(fn), ctx_(ctx) {}
    Timer(const Timer &) = delete;
    Timer &operator=(const Timer &) = delete;
    ~Timer();

    bool armed() const noexcept { return heap_ != nullptr; }
    Nanos deadline() const noexcept { return deadline_; }

private:
    friend class TimerHeap;
    Fn fn_;
    void *ctx_;
    Nanos deadline_ = 0;
    size_t index_ = 0;
    TimerHeap *heap_ = nullptr;
};

class TimerHeap {
public:
    ~TimerHeap();
    void arm(Timer &t, Nanos deadline);
    void cancel(Timer &t) noexcept;
    bool empty() const noexcept { return heap_.empty(); }
    size_t size() const noexcept { return heap_.size(); }
    Nanos earliest() const noexcept { return heap_.empty() ? kNever : heap_[0]->deadline_; }
    // Fires (and disarms) every timer whose deadline is <= now. A callback
    // may arm or cancel any timer, itself included.
    void fire_expired(Nanos now);

private:
    void sift_up(size_t i) noexcept;
    void sift_down(size_t i) noexcept;
    void place(size_t i, Timer *t) noexcept
    {
        heap_[i] = t;
        t->index_ = i;
    }
    std::vector<Timer *> heap_;
};

} // namespace pssh
