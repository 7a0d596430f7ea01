// What a forwarder thread and the loop that owns it say to each other. Each
// side pushes into the other's mailbox under its mutex and posts one drain
// to the other's reactor: Reactor::post and wakeup stay the only
// cross-thread entries, and nothing else is shared.
#pragma once
#include "../util/failure.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pssh {

// To the forwarder thread.
struct ToThread {
    enum class Kind {
        Open,        // id: a new tunnel to host:port; fd: the thread's end of its socketpair
        Close,       // id: the requester let go
        RelayOpened, // id: a relay (our proxy's own way in, through the previous hop) is open
        RelayFailed, // ... never opened (failure, final)
        RelayLost,   // ... open, then lost (failure)
    };
    explicit ToThread(Kind k, uint64_t i = 0) : kind(k), id(i) {}
    Kind kind;
    uint64_t id = 0;
    int fd = -1;
    std::string host;
    int port = 0;
    Failure failure;
    bool final = false;
};

// To the owning loop.
struct ToMain {
    enum class Kind {
        Opened,     // id: the channel to the host is open: bytes flow
        Failed,     // id: never opened (failure, final); the thread let go of it
        Lost,       // id: open, then the proxy connection failed (failure)
        ProxyUp,    // the proxy connection is ready
        ProxyDown,  // ... is gone (a new one starts with the next tunnel)
        Log,        // level, text: a log line of the thread's loop
        RelayOpen,  // id, fd, host, port: our proxy needs a tunnel through the previous hop
        RelayClose, // id: ... and lets go of it
    };
    explicit ToMain(Kind k, uint64_t i = 0) : kind(k), id(i) {}
    Kind kind;
    uint64_t id = 0;
    Failure failure;
    bool final = false;
    int level = 0;
    std::string text;
    int fd = -1;
    std::string host;
    int port = 0;
};

template <class M> class Mailbox {
public:
    // True when the box was empty: the caller posts a drain (one per batch).
    bool push(M m)
    {
        std::lock_guard<std::mutex> lock(mu_);
        q_.push_back(std::move(m));
        return q_.size() == 1;
    }
    // Everything queued, into out (whose old content is dropped).
    void take(std::vector<M> &out)
    {
        out.clear();
        std::lock_guard<std::mutex> lock(mu_);
        out.swap(q_);
    }

private:
    std::mutex mu_;
    std::vector<M> q_;
};

} // namespace pssh
