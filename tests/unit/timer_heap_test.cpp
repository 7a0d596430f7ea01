// TimerHeap: firing order, cancel and re-arm anywhere in the heap, timers
// that die armed, and callbacks that change the heap while it fires.
#include "reactor/timer_heap.hpp"
#include "support.hpp"

#include <algorithm>
#include <memory>
#include <random>

using pssh::Nanos;
using pssh::Timer;
using pssh::TimerHeap;

namespace {

// A timer that records when and in which order it fired.
struct Probe {
    static inline std::vector<int> *log = nullptr;
    int id;
    int fired = 0;
    Timer timer;
    explicit Probe(int i) : id(i), timer(&Probe::on_fire, this) {}
    static void on_fire(void *ctx)
    {
        Probe *p = static_cast<Probe *>(ctx);
        p->fired++;
        if (log)
            log->push_back(p->id);
    }
};

struct Log {
    std::vector<int> ids;
    Log() { Probe::log = &ids; }
    ~Log() { Probe::log = nullptr; }
};

std::vector<std::unique_ptr<Probe>> make_probes(int n)
{
    std::vector<std::unique_ptr<Probe>> v;
    for (int i = 0; i < n; i++)
        v.push_back(std::make_unique<Probe>(i));
    return v;
}

} // namespace

Test(timer_heap, fires_in_deadline_order)
{
    Log log;
    TimerHeap heap;
    auto probes = make_probes(1000);
    std::mt19937 rng(7);
    Nanos earliest = pssh::kNever;
    for (auto &p : probes) {
        Nanos d = Nanos(rng() % 5000); // many equal deadlines too
        heap.arm(p->timer, d);
        earliest = std::min(earliest, d);
        cr_assert_eq(heap.earliest(), earliest);
        cr_assert(p->timer.armed() && p->timer.deadline() == d);
    }
    cr_assert_eq(heap.size(), 1000u);
    heap.fire_expired(2499);
    for (auto &p : probes)
        cr_assert_eq(p->fired, p->timer.deadline() <= 2499 ? 1 : 0, "timer %d (deadline %ld) fired %d times",
                     p->id, long(p->timer.deadline()), p->fired);
    heap.fire_expired(pssh::kNever - 1);
    cr_assert(heap.empty());
    cr_assert_eq(heap.earliest(), pssh::kNever);
    cr_assert_eq(log.ids.size(), 1000u);
    for (size_t i = 1; i < log.ids.size(); i++)
        cr_assert(probes[log.ids[i - 1]]->timer.deadline() <= probes[log.ids[i]]->timer.deadline(),
                  "fired out of order at %zu", i);
    for (auto &p : probes)
        cr_assert(p->fired == 1 && !p->timer.armed());
}

Test(timer_heap, deadline_equal_to_now_fires)
{
    TimerHeap heap;
    Probe a(0), b(1);
    heap.arm(a.timer, 100);
    heap.arm(b.timer, 101);
    heap.fire_expired(99);
    cr_expect_eq(a.fired, 0);
    heap.fire_expired(100);
    cr_expect_eq(a.fired, 1);
    cr_expect_eq(b.fired, 0);
    cr_expect_eq(heap.earliest(), 101);
}

Test(timer_heap, cancel_from_the_middle)
{
    Log log;
    TimerHeap heap;
    auto probes = make_probes(200);
    std::mt19937 rng(11);
    for (auto &p : probes)
        heap.arm(p->timer, Nanos(rng() % 100000));
    std::vector<int> order(200);
    for (int i = 0; i < 200; i++)
        order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<bool> cancelled(200, false);
    for (int k = 0; k < 80; k++) {
        heap.cancel(probes[order[k]]->timer);
        cancelled[order[k]] = true;
        cr_assert(!probes[order[k]]->timer.armed());
        cr_assert_eq(heap.size(), size_t(200 - k - 1));
        Nanos want = pssh::kNever;
        for (auto &p : probes)
            if (p->timer.armed())
                want = std::min(want, p->timer.deadline());
        cr_assert_eq(heap.earliest(), want, "earliest wrong after cancelling %d", order[k]);
    }
    heap.cancel(probes[order[0]]->timer); // twice: a no-op
    cr_assert_eq(heap.size(), 120u);
    heap.fire_expired(pssh::kNever - 1);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(probes[i]->fired, cancelled[i] ? 0 : 1, "timer %d", i);
    for (size_t i = 1; i < log.ids.size(); i++)
        cr_assert(probes[log.ids[i - 1]]->timer.deadline() <= probes[log.ids[i]]->timer.deadline());
}

Test(timer_heap, rearm_moves_the_deadline)
{
    TimerHeap heap;
    Probe a(0), b(1), c(2);
    heap.arm(a.timer, 50);
    heap.arm(b.timer, 60);
    heap.arm(c.timer, 70);
    heap.arm(c.timer, 10); // earlier
    cr_expect_eq(heap.size(), 3u);
    cr_expect_eq(heap.earliest(), 10);
    heap.arm(c.timer, 90); // later again
    heap.arm(a.timer, 80);
    cr_expect_eq(heap.earliest(), 60);
    heap.fire_expired(75);
    cr_expect(a.fired == 0 && b.fired == 1 && c.fired == 0);
    heap.fire_expired(1000);
    cr_expect(a.fired == 1 && b.fired == 1 && c.fired == 1);
}

Test(timer_heap, random_operations_keep_the_heap_valid)
{
    Log log;
    TimerHeap heap;
    auto probes = make_probes(64);
    std::mt19937 rng(99);
    Nanos now = 0;
    std::vector<int> expected_fires(64, 0);
    for (int op = 0; op < 20000; op++) {
        Probe &p = *probes[rng() % 64];
        switch (rng() % 4) {
        case 0:
        case 1:
            heap.arm(p.timer, now + Nanos(rng() % 1000));
            break;
        case 2:
            heap.cancel(p.timer);
            break;
        case 3: {
            now += Nanos(rng() % 50);
            std::vector<int> due;
            for (auto &q : probes)
                if (q->timer.armed() && q->timer.deadline() <= now)
                    due.push_back(q->id);
            log.ids.clear();
            heap.fire_expired(now);
            std::vector<int> fired = log.ids;
            std::sort(fired.begin(), fired.end());
            std::sort(due.begin(), due.end());
            cr_assert(fired == due, "op %d: fired %zu timers, %zu were due", op, fired.size(), due.size());
            break;
        }
        }
        size_t armed = 0;
        Nanos want = pssh::kNever;
        for (auto &q : probes)
            if (q->timer.armed()) {
                armed++;
                want = std::min(want, q->timer.deadline());
            }
        cr_assert_eq(heap.size(), armed, "op %d", op);
        cr_assert_eq(heap.earliest(), want, "op %d", op);
    }
}

Test(timer_heap, timer_destroyed_while_armed)
{
    Log log;
    TimerHeap heap;
    auto probes = make_probes(10);
    for (int i = 0; i < 10; i++)
        heap.arm(probes[i]->timer, 10 * (10 - i)); // reverse order
    probes[9].reset(); // the root
    probes[4].reset(); // a middle one
    probes[0].reset(); // the last deadline
    cr_assert_eq(heap.size(), 7u);
    cr_assert_eq(heap.earliest(), 20);
    heap.fire_expired(1000);
    const std::vector<int> want = {8, 7, 6, 5, 3, 2, 1};
    cr_assert(log.ids == want, "fired %zu timers in the wrong order", log.ids.size());
}

Test(timer_heap, heap_destroyed_before_its_timers)
{
    Probe a(0);
    {
        TimerHeap heap;
        heap.arm(a.timer, 5);
    }
    cr_expect(!a.timer.armed(), "a timer still points at a dead heap");
    // a's destructor runs at scope end and must not touch the dead heap.
}

namespace {

// Timers whose callbacks act on other timers of the same heap.
struct Actor {
    TimerHeap *heap;
    Timer self;
    Timer *other = nullptr;
    int action = 0; // 0 cancel other, 1 arm other at `when`, 2 re-arm self at `when`, then `when` += period
    Nanos when = 0, period = 0;
    int fired = 0;
    int max_rearms = 0;
    Actor(TimerHeap *h) : heap(h), self(&Actor::run, this) {}
    static void run(void *ctx)
    {
        Actor *a = static_cast<Actor *>(ctx);
        a->fired++;
        cr_assert(!a->self.armed(), "a timer is still armed inside its own callback");
        if (a->action == 0)
            a->heap->cancel(*a->other);
        else if (a->action == 1)
            a->heap->arm(*a->other, a->when);
        else if (a->fired <= a->max_rearms) {
            a->heap->arm(a->self, a->when);
            a->when += a->period;
        }
    }
};

} // namespace

Test(timer_heap, callback_cancels_an_expired_timer)
{
    TimerHeap heap;
    Actor a(&heap);
    Probe victim(1), bystander(2);
    a.other = &victim.timer;
    a.action = 0;
    heap.arm(a.self, 1);
    heap.arm(victim.timer, 2);
    heap.arm(bystander.timer, 3);
    heap.fire_expired(10);
    cr_expect_eq(a.fired, 1);
    cr_expect_eq(victim.fired, 0, "a timer cancelled by an earlier callback still fired");
    cr_expect_eq(bystander.fired, 1);
    cr_expect(heap.empty());
}

Test(timer_heap, callback_arms_other_timers)
{
    TimerHeap heap;
    Actor a(&heap);
    Probe due(1), later(2);
    a.other = &due.timer;
    a.action = 1;
    a.when = 5; // already due: fires in this same pass
    heap.arm(a.self, 1);
    heap.fire_expired(10);
    cr_expect_eq(due.fired, 1);
    Actor b(&heap);
    b.other = &later.timer;
    b.action = 1;
    b.when = 50; // in the future: stays armed
    heap.arm(b.self, 11);
    heap.fire_expired(20);
    cr_expect_eq(later.fired, 0);
    cr_expect(later.timer.armed());
    cr_expect_eq(heap.earliest(), 50);
}

Test(timer_heap, callback_rearms_itself)
{
    TimerHeap heap;
    Actor a(&heap);
    a.action = 2;
    a.when = 100;
    a.period = 100; // a periodic timer: 100, 200, 300...
    a.max_rearms = 1000;
    heap.arm(a.self, 1);
    heap.fire_expired(10);
    cr_expect_eq(a.fired, 1, "a timer re-armed into the future fired again in the same pass");
    cr_expect(a.self.armed() && a.self.deadline() == 100);
    heap.fire_expired(100);
    cr_expect_eq(a.fired, 2);
    cr_expect(a.self.armed() && a.self.deadline() == 200);
    // Late by several periods: each pass catches up as far as `now`.
    heap.fire_expired(450);
    cr_expect_eq(a.fired, 5);
    cr_expect_eq(a.self.deadline(), 500);
}
