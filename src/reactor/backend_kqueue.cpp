// kqueue backend (BSD/macOS): one filter per direction, keys in udata.
#include "backend.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

namespace pssh::backend {

int create()
{
    int fd = kqueue();
    if (fd < 0)
        return -errno;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static int apply(int bfd, int fd, unsigned old_events, unsigned events, uint64_t key)
{
    struct kevent ch[2];
    int n = 0;
    void *udata = reinterpret_cast<void *>(static_cast<uintptr_t>(key));
    const struct {
        unsigned bit;
        short filter;
    } dirs[2] = {{kRead, EVFILT_READ}, {kWrite, EVFILT_WRITE}};
    for (const auto &d : dirs) {
        if ((events & d.bit) && !(old_events & d.bit))
            EV_SET(&ch[n++], fd, d.filter, EV_ADD, 0, 0, udata);
        else if (!(events & d.bit) && (old_events & d.bit))
            EV_SET(&ch[n++], fd, d.filter, EV_DELETE, 0, 0, udata);
        else if (events & d.bit) // same filter, new key
            EV_SET(&ch[n++], fd, d.filter, EV_ADD, 0, 0, udata);
    }
    if (n == 0)
        return 0;
    return kevent(bfd, ch, n, nullptr, 0, nullptr) < 0 ? -errno : 0;
}

int add(int bfd, int fd, unsigned events, uint64_t key) { return apply(bfd, fd, 0, events, key); }

int modify(int bfd, int fd, unsigned old_events, unsigned events, uint64_t key)
{
    return apply(bfd, fd, old_events, events, key);
}

int remove(int bfd, int fd, unsigned old_events) { return apply(bfd, fd, old_events, 0, 0); }

int wait(int bfd, Event *out, int max, int timeout_ms)
{
    struct kevent evs[128];
    if (max > 128)
        max = 128;
    timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    int n = kevent(bfd, nullptr, 0, evs, max, timeout_ms < 0 ? nullptr : &ts);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        unsigned e = evs[i].filter == EVFILT_WRITE ? kWrite : kRead;
        if (evs[i].flags & (EV_EOF | EV_ERROR))
            e |= kRead | kWrite;
        out[i] = Event{static_cast<uint64_t>(reinterpret_cast<uintptr_t>(evs[i].udata)), e};
    }
    return n;
}

const char *name() { return "kqueue"; }

} // namespace pssh::backend
