// Reactor with real descriptors: routing, stale registrations, interest 0,
// deferred work, cross-thread posts and timeout rounding.
#include "reactor/reactor.hpp"
#include "support.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using pssh::EV_READ;
using pssh::EV_WRITE;
using pssh::Reactor;
using pssh::Token;

namespace {

struct Pipe {
    int rd = -1, wr = -1;
    Pipe()
    {
        int p[2];
        cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        rd = p[0];
        wr = p[1];
    }
    ~Pipe()
    {
        if (rd >= 0)
            close(rd);
        if (wr >= 0)
            close(wr);
    }
    void put(const char *s = "x") { cr_assert_eq(write(wr, s, strlen(s)), ssize_t(strlen(s))); }
};

struct Recorder : pssh::IoHandler {
    int calls = 0;
    unsigned last = 0;
    void on_io(unsigned events) override
    {
        calls++;
        last = events;
    }
};

void init(Reactor &r) { cr_assert_eq(r.init(), 0); }

long long elapsed_ms(pssh::Nanos since) { return (pssh::now_ns() - since) / 1000000; }

} // namespace

Test(reactor, events_reach_their_own_handler)
{
    Reactor r;
    init(r);
    Pipe a, b;
    Recorder ha, hb;
    Token ta = r.add(a.rd, EV_READ, &ha), tb = r.add(b.rd, EV_READ, &hb);
    cr_assert(ta != pssh::kNoToken && tb != pssh::kNoToken && ta != tb);
    b.put();
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(ha.calls, 0);
    cr_expect_eq(hb.calls, 1);
    cr_expect_eq(hb.last, unsigned(EV_READ));
    // Level-triggered: unread data is reported again.
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(hb.calls, 2);
    // Write interest on a socket with buffer room.
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    Recorder hs;
    Token ts = r.add(sv[0], EV_WRITE, &hs);
    char drain[16];
    cr_assert_eq(read(b.rd, drain, sizeof drain), 1);
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(hs.calls, 1);
    cr_expect_eq(hs.last, unsigned(EV_WRITE));
    cr_expect_eq(ha.calls, 0);
    cr_expect_eq(hb.calls, 2);
    r.remove(ts);
    r.remove(ta);
    r.remove(tb);
    close(sv[0]);
    close(sv[1]);
}

Test(reactor, removed_registration_gets_nothing)
{
    Reactor r;
    init(r);
    Pipe a;
    Recorder h;
    Token t = r.add(a.rd, EV_READ, &h);
    a.put();
    r.remove(t);
    cr_assert_eq(r.run_once(50), 0);
    cr_expect_eq(h.calls, 0);
    cr_expect_eq(r.watch(t, EV_READ), -EBADF, "a removed token still works");
    r.remove(t); // twice: a no-op
    cr_expect_eq(r.watch(pssh::kNoToken, EV_READ), -EBADF);
    // The slot is reused with a new generation: the old token stays dead.
    Pipe b;
    Recorder h2;
    Token t2 = r.add(b.rd, EV_READ, &h2);
    cr_expect(t2 != t);
    cr_expect_eq(r.watch(t, EV_READ), -EBADF);
    b.put();
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(h2.calls, 1);
    cr_expect_eq(h.calls, 0);
    r.remove(t2);
}

namespace {

// Two handlers made ready in the same batch. Whichever runs first acts on
// the other (remove+close+reuse, or pause), whose event is already fetched.
struct Pair;

struct Side : pssh::IoHandler {
    Pair *pair = nullptr;
    Side *other = nullptr;
    int fd = -1;
    Token token = pssh::kNoToken;
    int calls = 0;
    void on_io(unsigned events) override;
};

struct Pair {
    Reactor *r;
    int mode; // 0: replace the other's fd, 1: pause the other, 2: switch the other to write interest
    Side a, b;
    Recorder newcomer; // registered on the other's old fd number
    Token newcomer_token = pssh::kNoToken;
    int newcomer_wr = -1;
    bool acted = false;
};

void Side::on_io(unsigned)
{
    calls++;
    Pair &p = *pair;
    if (p.acted)
        return;
    p.acted = true;
    Side &victim = *other;
    if (p.mode == 1) {
        cr_assert_eq(p.r->watch(victim.token, 0), 0);
        return;
    }
    if (p.mode == 2) {
        cr_assert_eq(p.r->watch(victim.token, EV_WRITE), 0);
        return;
    }
    const int number = victim.fd;
    p.r->remove(victim.token);
    close(number);
    int fresh[2];
    cr_assert_eq(pipe2(fresh, O_CLOEXEC | O_NONBLOCK), 0);
    cr_assert_eq(write(fresh[1], "n", 1), 1);
    // Same descriptor number as the victim's, as the kernel would hand out
    // (the lowest free number usually is that one already).
    if (fresh[0] != number) {
        cr_assert_eq(dup3(fresh[0], number, O_CLOEXEC), number);
        close(fresh[0]);
    }
    p.newcomer_wr = fresh[1];
    p.newcomer_token = p.r->add(number, EV_READ, &p.newcomer);
    cr_assert(p.newcomer_token != pssh::kNoToken);
    cr_assert(p.newcomer_token != victim.token);
}

void setup_pair(Pair &p, Reactor &r, Pipe &pa, Pipe &pb, int mode)
{
    p.r = &r;
    p.mode = mode;
    p.a.pair = p.b.pair = &p;
    p.a.other = &p.b;
    p.b.other = &p.a;
    p.a.fd = pa.rd;
    p.b.fd = pb.rd;
    pa.put();
    pb.put();
    p.a.token = r.add(pa.rd, EV_READ, &p.a);
    p.b.token = r.add(pb.rd, EV_READ, &p.b);
}

} // namespace

Test(reactor, stale_event_in_the_same_batch_never_reaches_a_new_owner)
{
    Reactor r;
    init(r);
    Pipe pa, pb;
    Pair p;
    setup_pair(p, r, pa, pb, 0);
    cr_assert_eq(r.run_once(1000), 0);
    cr_assert(p.acted);
    Side &first = p.a.calls ? p.a : p.b;
    Side &victim = p.a.calls ? p.b : p.a;
    cr_expect_eq(first.calls, 1);
    cr_expect_eq(victim.calls, 0, "the removed handler got its already fetched event");
    cr_expect_eq(p.newcomer.calls, 0, "the old registration's event reached the new owner of its fd number");
    // The newcomer's own data arrives on the next turn.
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(p.newcomer.calls, 1);
    cr_expect_eq(victim.calls, 0);
    // The victim's descriptor number now belongs to the newcomer.
    r.remove(p.newcomer_token);
    (&victim == &p.a ? pa : pb).rd = -1;
    close(victim.fd);
    close(p.newcomer_wr);
}

// Regression (found by this suite): when the owner's interest no longer
// covered the fetched events, run_once delivered them anyway. Both cases are
// an event fetched in the batch before an earlier handler changed the
// interest: a paused owner was woken (what apply() avoids for interest 0),
// and an owner that now waits only to write was told it could read.
Test(reactor, pause_in_the_same_batch_stops_delivery)
{
    Reactor r;
    init(r);
    Pipe pa, pb;
    Pair p;
    setup_pair(p, r, pa, pb, 1);
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(p.a.calls + p.b.calls, 1, "a paused handler got an event fetched before the pause (a=%d b=%d)",
                 p.a.calls, p.b.calls);
}

Test(reactor, interest_change_in_the_same_batch_is_respected)
{
    Reactor r;
    init(r);
    Pipe pa, pb;
    Pair p;
    setup_pair(p, r, pa, pb, 2);
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(p.a.calls + p.b.calls, 1,
                 "a handler that switched to write interest got a read event (a=%d b=%d)", p.a.calls, p.b.calls);
}

Test(reactor, interest_zero_stops_delivery_including_hangup)
{
    Reactor r;
    init(r);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    Recorder h;
    Token t = r.add(sv[0], EV_READ, &h);
    cr_assert_eq(write(sv[1], "data", 4), 4);
    cr_assert_eq(r.watch(t, 0), 0);
    cr_assert_eq(r.run_once(50), 0);
    cr_expect_eq(h.calls, 0, "paused handler saw readable data");
    close(sv[1]); // hangup: epoll reports it even with no interest
    for (int i = 0; i < 3; i++)
        cr_assert_eq(r.run_once(20), 0);
    cr_expect_eq(h.calls, 0, "paused handler saw the hangup");
    cr_assert_eq(r.watch(t, 0), 0); // unchanged: a no-op
    cr_assert_eq(r.watch(t, EV_READ), 0);
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(h.calls, 1);
    // A hangup wakes both directions; the owner hears only what it watches.
    cr_expect_eq(h.last, unsigned(EV_READ));
    // A registration made with interest 0 is quiet from the start.
    Recorder q;
    int sv2[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2), 0);
    close(sv2[1]);
    Token tq = r.add(sv2[0], 0, &q);
    cr_assert(tq != pssh::kNoToken);
    cr_assert_eq(r.run_once(30), 0);
    cr_expect_eq(q.calls, 0);
    r.remove(tq);
    r.remove(t);
    close(sv2[0]);
    close(sv[0]);
}

Test(reactor, add_failure_returns_no_token)
{
    Reactor r;
    init(r);
    Recorder h;
    errno = 0;
    cr_expect_eq(r.add(12345, EV_READ, &h), pssh::kNoToken);
    cr_expect_eq(errno, EBADF);
    // The failed slot is reusable and its reuse works.
    Pipe a;
    Token t = r.add(a.rd, EV_READ, &h);
    cr_assert(t != pssh::kNoToken);
    a.put();
    cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(h.calls, 1);
    r.remove(t);
}

namespace {

struct Counter {
    int runs = 0;
    static void bump(void *ctx) { static_cast<Counter *>(ctx)->runs++; }
};

// Defers itself again from its own callback (at most 100 times, so a
// reactor that runs new work in the same turn fails instead of hanging).
struct Repeater {
    Reactor *r;
    pssh::Deferred d{&Repeater::run, this};
    int runs = 0;
    static void run(void *ctx)
    {
        Repeater *self = static_cast<Repeater *>(ctx);
        if (++self->runs < 100)
            self->r->defer(self->d);
    }
};

} // namespace

Test(reactor, deferred_runs_without_waiting)
{
    Reactor r;
    init(r);
    Counter c;
    pssh::Deferred d(&Counter::bump, &c);
    r.defer(d);
    r.defer(d); // queued once
    cr_expect_eq(r.timeout_ms(), 0);
    pssh::Nanos t0 = pssh::now_ns();
    cr_assert_eq(r.run_once(5000), 0);
    cr_expect_lt(elapsed_ms(t0), 1000, "run_once waited with deferred work queued");
    cr_expect_eq(c.runs, 1);
    cr_expect(!d.queued());
    cr_expect_eq(r.timeout_ms(), -1);
    // Cancelled work does not run.
    r.defer(d);
    d.cancel();
    cr_assert_eq(r.run_once(0), 0);
    cr_expect_eq(c.runs, 1);
    // Work deferred while deferred work runs waits for the next turn.
    Repeater rep{&r};
    r.defer(rep.d);
    t0 = pssh::now_ns();
    for (int i = 0; i < 3; i++)
        cr_assert_eq(r.run_once(5000), 0);
    cr_expect_eq(rep.runs, 3);
    cr_expect_lt(elapsed_ms(t0), 1000);
    rep.d.cancel();
}

Test(reactor, post_from_another_thread_wakes_run_once)
{
    Reactor r;
    init(r);
    std::atomic<int> seen{0};
    std::atomic<uintptr_t> arg{0};
    struct Ctx {
        std::atomic<int> *seen;
        std::atomic<uintptr_t> *arg;
    } ctx{&seen, &arg};
    auto fn = [](void *c, uintptr_t a) {
        Ctx *x = static_cast<Ctx *>(c);
        x->arg->store(a);
        x->seen->fetch_add(1);
    };
    std::thread poster([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        r.post(fn, &ctx, 0xfeed);
    });
    pssh::Nanos t0 = pssh::now_ns();
    for (int i = 0; i < 3 && seen.load() == 0; i++)
        cr_assert_eq(r.run_once(3000), 0);
    long long took = elapsed_ms(t0);
    poster.join();
    cr_expect_eq(seen.load(), 1);
    cr_expect_eq(arg.load(), uintptr_t(0xfeed));
    cr_expect_lt(took, 2000, "run_once was not woken by post (took %lld ms)", took);
    // Many posts from several threads all run, each once.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&] {
            for (int i = 0; i < 250; i++)
                r.post(fn, &ctx, 1);
        });
    for (auto &t : threads)
        t.join();
    for (int i = 0; i < 100 && seen.load() < 1001; i++)
        cr_assert_eq(r.run_once(1000), 0);
    cr_expect_eq(seen.load(), 1001);
}

Test(reactor, timeout_ms_never_zero_before_a_deadline)
{
    Reactor r;
    init(r);
    cr_expect_eq(r.timeout_ms(), -1);
    Counter c;
    pssh::Timer t(&Counter::bump, &c);
    for (int i = 0; i < 2000; i++) {
        const pssh::Nanos offset = (i % 7 == 0) ? 1 : pssh::Nanos(i) * 2713 % 5000000;
        const pssh::Nanos deadline = pssh::now_ns() + offset;
        r.arm(t, deadline);
        const int ms = r.timeout_ms();
        const pssh::Nanos after = pssh::now_ns();
        if (after < deadline)
            cr_assert_gt(ms, 0, "timeout 0 with %ld ns left", long(deadline - after));
        // Rounded up: waiting ms is enough to reach the deadline.
        cr_assert_geq(pssh::Nanos(ms) * 1000000, deadline - after, "%d ms is short of %ld ns", ms,
                      long(deadline - after));
        cr_assert_leq(ms, 6);
    }
    r.arm(t, pssh::now_ns() - 1);
    cr_expect_eq(r.timeout_ms(), 0);
    r.arm(t, pssh::now_ns() + pssh::Nanos(3) * 1000000000 * 1000000); // ~35 days out
    cr_expect_eq(r.timeout_ms(), 2147483647);
    r.cancel(t);
    cr_expect_eq(r.timeout_ms(), -1);
}

Test(reactor, run_once_sleeps_until_the_timer_is_due)
{
    Reactor r;
    init(r);
    Counter c;
    pssh::Timer t(&Counter::bump, &c);
    const pssh::Nanos start = pssh::now_ns();
    r.arm(t, start + 30 * 1000000 + 300000); // 30.3 ms: rounding matters
    int turns = 0;
    while (c.runs == 0 && turns < 50) {
        cr_assert_eq(r.run_once(-1), 0);
        turns++;
    }
    cr_expect_eq(c.runs, 1);
    cr_expect_geq(pssh::now_ns() - start, 30 * 1000000 + 300000);
    cr_expect_leq(turns, 2, "spun %d turns waiting for one timer", turns);
    // A caller's shorter timeout wins over a later timer.
    r.arm(t, pssh::now_ns() + pssh::Nanos(10) * 1000000000);
    const pssh::Nanos t0 = pssh::now_ns();
    cr_assert_eq(r.run_once(20), 0);
    cr_expect_lt(elapsed_ms(t0), 2000);
    cr_expect_eq(c.runs, 1);
    r.cancel(t);
}
