// Name resolution off the loop thread. getaddrinfo() blocks, so it runs on a
// few worker threads; answers come back through Reactor::post(). Literal
// addresses never come here (see parse_literal).
#pragma once
#include "../reactor/reactor.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct addrinfo;

namespace pssh {

class ResolveTarget {
public:
    // res is owned by the callee (freeaddrinfo); gai_err is 0 or EAI_*;
    // sys_errno is the resolver thread's errno when gai_err is EAI_SYSTEM.
    virtual void on_resolved(addrinfo *res, int gai_err, int sys_errno) = 0;

protected:
    ~ResolveTarget() = default;
};

class Resolver {
public:
    explicit Resolver(Reactor &r) : reactor_(r) {}
    Resolver(const Resolver &) = delete;
    Resolver &operator=(const Resolver &) = delete;
    // Joins the workers: a lookup in progress is waited for (getaddrinfo
    // cannot be interrupted), one still queued is dropped.
    ~Resolver();

    // Starts a lookup; 0 on failure (no memory or no thread).
    uint64_t submit(const std::string &host, int port, int family, ResolveTarget *t);
    // The target will not be called for this id.
    void cancel(uint64_t id) noexcept;

private:
    struct Request {
        uint64_t id;
        std::string host, service;
        int family;
        addrinfo *res = nullptr;
        int err = 0;
        int sys_errno = 0; // errno is per thread: read it on the worker
    };
    void worker();
    static void deliver(void *ctx, uintptr_t req);

    static constexpr size_t kMaxWorkers = 4;
    Reactor &reactor_;
    std::unordered_map<uint64_t, ResolveTarget *> targets_; // loop thread only
    uint64_t next_id_ = 1;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Request *> queue_;
    std::vector<std::thread> workers_;
    size_t idle_ = 0;
    bool stop_ = false;
};

} // namespace pssh
