// The OS poller under the reactor: epoll on Linux, kqueue on BSD/macOS,
// picked at compile time (one of backend_epoll.cpp / backend_kqueue.cpp is
// built). Each registration carries an opaque 64-bit key that comes back
// with its events; the reactor, not the backend, maps keys to owners.
#pragma once
#include <cstdint>

namespace pssh::backend {

enum : unsigned { kRead = 1, kWrite = 2 };

struct Event {
    uint64_t key;
    unsigned events; // kRead/kWrite; errors and hangups report both
};

int create();                                                     // fd, or -errno
int add(int bfd, int fd, unsigned events, uint64_t key);          // 0 or -errno
int modify(int bfd, int fd, unsigned old_events, unsigned events, uint64_t key);
int remove(int bfd, int fd, unsigned old_events);
int wait(int bfd, Event *out, int max, int timeout_ms);           // count, or -errno
const char *name();

} // namespace pssh::backend
