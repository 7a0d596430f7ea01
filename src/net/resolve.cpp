#include "resolve.hpp"

#include <cerrno>
#include <netdb.h>
#include <sys/socket.h>

namespace pssh {

Resolver::~Resolver()
{
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
        for (Request *r : queue_)
            delete r;
        queue_.clear();
    }
    cv_.notify_all();
    for (auto &t : workers_)
        t.join();
    // Answers already posted are delivered as cancelled: freed, no target.
    targets_.clear();
    reactor_.flush_posted();
}

uint64_t Resolver::submit(const std::string &host, int port, int family, ResolveTarget *t)
{
    auto req = std::make_unique<Request>();
    req->id = next_id_++;
    req->host = host;
    req->service = std::to_string(port);
    req->family = family;
    uint64_t id = req->id;
    targets_.emplace(id, t);
    {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(req.get());
        if (idle_ == 0 && workers_.size() < kMaxWorkers) {
            try {
                workers_.emplace_back([this] { worker(); });
            } catch (...) {
                if (workers_.empty()) { // nobody would ever answer
                    queue_.pop_back();
                    targets_.erase(id);
                    return 0;
                }
            }
        }
    }
    req.release();
    cv_.notify_one();
    return id;
}

void Resolver::cancel(uint64_t id) noexcept { targets_.erase(id); }

void Resolver::worker()
{
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        ++idle_;
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        --idle_;
        if (stop_)
            return;
        Request *r = queue_.front();
        queue_.pop_front();
        lock.unlock();
        addrinfo hints{};
        hints.ai_family = r->family;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        // No AI_ADDRCONFIG: on a host with only loopback it hides "localhost".
        hints.ai_flags = AI_NUMERICSERV;
        r->err = getaddrinfo(r->host.c_str(), r->service.c_str(), &hints, &r->res);
        r->sys_errno = r->err == EAI_SYSTEM ? errno : 0;
        lock.lock();
        if (stop_) { // the loop is going away: nobody will deliver this
            if (r->res)
                freeaddrinfo(r->res);
            delete r;
            return;
        }
        reactor_.post(&Resolver::deliver, this, reinterpret_cast<uintptr_t>(r));
    }
}

void Resolver::deliver(void *ctx, uintptr_t arg)
{
    auto *self = static_cast<Resolver *>(ctx);
    auto *r = reinterpret_cast<Request *>(arg);
    auto it = self->targets_.find(r->id);
    if (it == self->targets_.end()) {
        if (r->res)
            freeaddrinfo(r->res);
    } else {
        ResolveTarget *t = it->second;
        self->targets_.erase(it);
        t->on_resolved(r->res, r->err, r->sys_errno);
    }
    delete r;
}

} // namespace pssh
