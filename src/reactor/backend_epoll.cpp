// epoll backend: level-triggered, keys in epoll_data.u64.
#include "backend.hpp"

#include <cerrno>
#include <sys/epoll.h>

namespace pssh::backend {

static uint32_t to_epoll(unsigned events)
{
    return (events & kRead ? EPOLLIN : 0u) | (events & kWrite ? EPOLLOUT : 0u);
}

int create()
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static int ctl(int bfd, int op, int fd, unsigned events, uint64_t key)
{
    epoll_event ev{};
    ev.events = to_epoll(events);
    ev.data.u64 = key;
    return epoll_ctl(bfd, op, fd, &ev) < 0 ? -errno : 0;
}

int add(int bfd, int fd, unsigned events, uint64_t key) { return ctl(bfd, EPOLL_CTL_ADD, fd, events, key); }

int modify(int bfd, int fd, unsigned, unsigned events, uint64_t key)
{
    return ctl(bfd, EPOLL_CTL_MOD, fd, events, key);
}

int remove(int bfd, int fd, unsigned) { return ctl(bfd, EPOLL_CTL_DEL, fd, 0, 0); }

int wait(int bfd, Event *out, int max, int timeout_ms)
{
    epoll_event evs[128];
    if (max > 128)
        max = 128;
    int n = epoll_wait(bfd, evs, max, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        unsigned e = 0;
        if (evs[i].events & (EPOLLIN | EPOLLPRI))
            e |= kRead;
        if (evs[i].events & EPOLLOUT)
            e |= kWrite;
        // An error or hangup wakes both directions: the owner finds out by I/O.
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            e |= kRead | kWrite;
        out[i] = Event{evs[i].data.u64, e};
    }
    return n;
}

const char *name() { return "epoll"; }

} // namespace pssh::backend
