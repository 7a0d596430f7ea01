#include "timer_heap.hpp"

namespace pssh {

Timer::~Timer()
{
    if (heap_)
        heap_->cancel(*this);
}

TimerHeap::~TimerHeap()
{
    for (Timer *t : heap_)
        t->heap_ = nullptr;
}

void TimerHeap::arm(Timer &t, Nanos deadline)
{
    if (t.heap_)
        cancel(t);
    heap_.push_back(&t); // may throw bad_alloc before t is touched
    t.deadline_ = deadline;
    t.heap_ = this;
    place(heap_.size() - 1, &t);
    sift_up(t.index_);
}

void TimerHeap::cancel(Timer &t) noexcept
{
    if (t.heap_ != this)
        return;
    size_t i = t.index_;
    Timer *last = heap_.back();
    heap_.pop_back();
    t.heap_ = nullptr;
    if (last == &t)
        return;
    place(i, last);
    sift_down(i);
    sift_up(last->index_);
}

void TimerHeap::fire_expired(Nanos now)
{
    while (!heap_.empty() && heap_[0]->deadline_ <= now) {
        Timer *t = heap_[0];
        cancel(*t);
        t->fn_(t->ctx_);
    }
}

void TimerHeap::sift_up(size_t i) noexcept
{
    Timer *t = heap_[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap_[parent]->deadline_ <= t->deadline_)
            break;
        place(i, heap_[parent]);
        i = parent;
    }
    place(i, t);
}

void TimerHeap::sift_down(size_t i) noexcept
{
    Timer *t = heap_[i];
    const size_t n = heap_.size();
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_[c + 1]->deadline_ < heap_[c]->deadline_)
            c++;
        if (t->deadline_ <= heap_[c]->deadline_)
            break;
        place(i, heap_[c]);
        i = c;
    }
    place(i, t);
}

} // namespace pssh
