#include "reactor.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

namespace pssh {

namespace {
constexpr uint64_t kWakeKey = UINT64_MAX; // never a valid token
constexpr int kMaxEvents = 128;

uint32_t slot_of(Token t) { return uint32_t(t); }
uint32_t gen_of(Token t) { return uint32_t(t >> 32); }
Token make_token(uint32_t slot, uint32_t gen) { return (uint64_t(gen) << 32) | slot; }
} // namespace

Reactor::~Reactor()
{
    deferred_.clear();
    if (bfd_ >= 0)
        close(bfd_);
    if (wake_rd_ >= 0)
        close(wake_rd_);
    if (wake_wr_ >= 0 && wake_wr_ != wake_rd_)
        close(wake_wr_);
}

int Reactor::init()
{
    bfd_ = backend::create();
    if (bfd_ < 0)
        return bfd_;
#ifdef __linux__
    wake_rd_ = wake_wr_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_rd_ < 0)
        return -errno;
#else
    int p[2];
    if (pipe(p) < 0)
        return -errno;
    for (int fd : p) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    wake_rd_ = p[0];
    wake_wr_ = p[1];
#endif
    return backend::add(bfd_, wake_rd_, EV_READ, kWakeKey);
}

Token Reactor::add(int fd, unsigned events, IoHandler *h)
{
    uint32_t idx;
    if (free_head_ != UINT32_MAX) {
        idx = free_head_;
        free_head_ = slots_[idx].next_free;
    } else {
        slots_.emplace_back();
        idx = uint32_t(slots_.size() - 1);
    }
    Slot &s = slots_[idx];
    s.fd = fd;
    s.h = h;
    s.events = 0;
    s.in_backend = false;
    int rc = apply(idx, events);
    if (rc < 0) {
        s.fd = -1;
        s.h = nullptr;
        s.next_free = free_head_;
        free_head_ = idx;
        errno = -rc;
        return kNoToken;
    }
    return make_token(idx, s.gen);
}

Reactor::Slot *Reactor::lookup(Token t) noexcept
{
    uint32_t idx = slot_of(t);
    if (t == kNoToken || idx >= slots_.size())
        return nullptr;
    Slot &s = slots_[idx];
    return s.h && s.gen == gen_of(t) ? &s : nullptr;
}

// Interest 0 removes the fd from the backend: epoll reports errors and
// hangups even with no interest, which would wake a paused owner forever.
int Reactor::apply(uint32_t idx, unsigned events)
{
    Slot &s = slots_[idx];
    Token key = make_token(idx, s.gen);
    int rc = 0;
    if (events == 0) {
        if (s.in_backend)
            rc = backend::remove(bfd_, s.fd, s.events);
        s.in_backend = false;
    } else if (!s.in_backend) {
        rc = backend::add(bfd_, s.fd, events, key);
        s.in_backend = rc == 0;
    } else if (events != s.events) {
        rc = backend::modify(bfd_, s.fd, s.events, events, key);
    }
    if (rc == 0)
        s.events = events;
    return rc;
}

int Reactor::watch(Token t, unsigned events)
{
    Slot *s = lookup(t);
    if (!s)
        return -EBADF;
    if (s->events == events && (events == 0 || s->in_backend))
        return 0;
    return apply(slot_of(t), events);
}

void Reactor::remove(Token t) noexcept
{
    Slot *s = lookup(t);
    if (!s)
        return;
    if (s->in_backend)
        backend::remove(bfd_, s->fd, s->events);
    uint32_t idx = slot_of(t);
    s->fd = -1;
    s->h = nullptr;
    s->events = 0;
    s->in_backend = false;
    s->gen = s->gen + 1 == 0 ? 1 : s->gen + 1; // a stale key never matches again
    s->next_free = free_head_;
    free_head_ = idx;
}

void Reactor::post(PostFn fn, void *ctx, uintptr_t arg)
{
    {
        std::lock_guard<std::mutex> lock(post_mu_);
        posted_.push_back(Posted{fn, ctx, arg});
    }
    wakeup();
}

void Reactor::wakeup() noexcept
{
    uint64_t one = 1;
    // A full eventfd/pipe already means "wake up": EAGAIN is fine.
    ssize_t r = write(wake_wr_, &one, wake_wr_ == wake_rd_ ? sizeof one : 1);
    (void)r;
}

void Reactor::drain_wakeup() noexcept
{
    char buf[64];
    while (read(wake_rd_, buf, sizeof buf) > 0) {
    }
}

void Reactor::run_posted()
{
    {
        std::lock_guard<std::mutex> lock(post_mu_);
        running_.swap(posted_);
    }
    for (const Posted &p : running_)
        p.fn(p.ctx, p.arg);
    running_.clear();
}

// Work deferred while this runs waits for the next turn, so a flow that
// keeps deferring itself cannot starve I/O.
void Reactor::run_deferred()
{
    List<Deferred, DeferTag> now;
    while (Deferred *d = deferred_.pop_front())
        now.push_back(d);
    while (Deferred *d = now.pop_front())
        d->fn_(d->ctx_);
}

int Reactor::timeout_ms() const noexcept
{
    if (!deferred_.empty())
        return 0;
    Nanos next = timers_.earliest();
    if (next == kNever)
        return -1;
    Nanos left = next - now_ns();
    if (left <= 0)
        return 0;
    // Round up: waking before the deadline would only spin.
    Nanos ms = (left + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : int(ms);
}

int Reactor::run_once(int timeout_ms)
{
    struct Depth {
        int &d;
        explicit Depth(int &x) : d(x) { ++d; }
        ~Depth() { --d; }
    } depth(depth_);

    int wait = this->timeout_ms();
    if (wait < 0 || (timeout_ms >= 0 && timeout_ms < wait))
        wait = timeout_ms;
    backend::Event evs[kMaxEvents];
    int n = backend::wait(bfd_, evs, kMaxEvents, wait);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        if (evs[i].key == kWakeKey) {
            drain_wakeup();
            run_posted();
            continue;
        }
        // Looked up per event: an earlier handler in this batch may have
        // removed (or replaced) this registration.
        // Only what the owner watches now: it may have paused or changed its
        // interest earlier in this batch. Hangups report both directions,
        // so a watched one is always among them.
        Slot *s = lookup(evs[i].key);
        if (!s)
            continue;
        if (unsigned ev = evs[i].events & s->events)
            s->h->on_io(ev);
    }
    timers_.fire_expired(now_ns());
    run_deferred();
    return 0;
}

} // namespace pssh
