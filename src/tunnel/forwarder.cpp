#include "forwarder.hpp"

#include "exit_guard.hpp"
#include "forwarders.hpp"

#include <unistd.h>
#include <utility>

namespace pssh {

namespace {
void close_fd(int fd)
{
    if (fd >= 0)
        ::close(fd);
}
} // namespace

// Our thread's connection to its proxy goes through a tunnel of via_: the
// answers go back to the thread.
struct Forwarder::Relay final : TunnelWaiter {
    Forwarder &owner;
    const uint64_t rid; // the thread's id for it
    uint64_t tid = 0;   // via_'s
    Relay(Forwarder &o, uint64_t r) : owner(o), rid(r) {}

    void tunnel_open() override
    {
        ToThread m{ToThread::Kind::RelayOpened};
        m.id = rid;
        owner.thread_->send(std::move(m));
    }
    void tunnel_failed(const Failure &f, bool final) override
    {
        ToThread m{ToThread::Kind::RelayFailed};
        m.id = rid;
        m.failure = f;
        m.final = final;
        owner.thread_->send(std::move(m));
        owner.relays_.erase(rid); // this one: nothing to close, via_ let go of it
    }
    void tunnel_lost(const Failure &f) override
    {
        ToThread m{ToThread::Kind::RelayLost};
        m.id = rid;
        m.failure = f;
        owner.thread_->send(std::move(m));
    }
};

Ref<Forwarder> Forwarder::start(Forwarders &reg, uint64_t id, std::string key, const std::vector<ProxyHop> &hops,
                                size_t n, Ref<Forwarder> via, std::string *why)
{
    Ref<Forwarder> f = Ref<Forwarder>::adopt(new Forwarder(reg, id, std::move(key), std::move(via)));
    ForwarderThread::Owner owner{&reg.loop().reactor(), &Forwarders::on_post, &reg, uintptr_t(id),
                                 reg.loop().log_level()};
    std::vector<ProxyHop> before(hops.begin(), hops.begin() + std::ptrdiff_t(n - 1));
    f->thread_ = std::make_unique<ForwarderThread>(hops[n - 1], before, owner);
    if (!f->thread_->start(why))
        return {};
    f->started_ = true;
    return f;
}

Forwarder::Forwarder(Forwarders &reg, uint64_t id, std::string key, Ref<Forwarder> via)
    : reg_(reg), id_(id), key_(std::move(key)), via_(std::move(via))
{
}

// Stop (flag, wake), join, then what the thread said last: descriptors it
// handed over are closed, tunnels its connection used are let go of.
Forwarder::~Forwarder()
{
    reg_.forget(this);
    if (started_) {
        if (!exit_guard::leave(thread_.get())) {
            // The process is exiting and its handler has the thread: leave
            // everything as it is.
            (void)thread_.release();
            return;
        }
        thread_->stop();
        thread_->join();
        thread_->take(batch_);
        for (ToMain &m : batch_) {
            if (m.kind == ToMain::Kind::RelayClose)
                relay_close(m.id);
            close_fd(m.fd);
        }
    }
    for (auto &r : relays_)
        via_->close(r.second->tid);
    relays_.clear();
    thread_.reset();
}

uint64_t Forwarder::open(const std::string &host, int port, int far_fd, TunnelWaiter *w)
{
    uint64_t tid = next_tid_++;
    waiters_[tid] = w;
    ToThread m{ToThread::Kind::Open};
    m.id = tid;
    m.fd = far_fd;
    m.host = host;
    m.port = port;
    thread_->send(std::move(m));
    return tid;
}

void Forwarder::close(uint64_t tid) noexcept
{
    if (waiters_.erase(tid) == 0)
        return;
    ToThread m{ToThread::Kind::Close};
    m.id = tid;
    thread_->send(std::move(m));
}

void Forwarder::drain()
{
    Ref<Forwarder> self = Ref<Forwarder>::share(this); // a waiter may release our last holder
    std::vector<ToMain> batch;
    batch.swap(batch_);
    thread_->take(batch);
    for (ToMain &m : batch) {
        auto w = waiters_.find(m.id);
        switch (m.kind) {
        case ToMain::Kind::Opened:
            if (w != waiters_.end())
                w->second->tunnel_open();
            break;
        case ToMain::Kind::Failed:
            if (w != waiters_.end()) {
                TunnelWaiter *x = w->second;
                waiters_.erase(w);
                x->tunnel_failed(m.failure, m.final);
            }
            break;
        case ToMain::Kind::Lost:
            if (w != waiters_.end())
                w->second->tunnel_lost(m.failure);
            break;
        case ToMain::Kind::ProxyUp:
        case ToMain::Kind::ProxyDown:
            up_ = m.kind == ToMain::Kind::ProxyUp;
            break;
        case ToMain::Kind::Log:
            reg_.loop().log(pssh_log_level(m.level), "%s", m.text.c_str());
            break;
        case ToMain::Kind::RelayOpen:
            relay_open(m);
            break;
        case ToMain::Kind::RelayClose:
            relay_close(m.id);
            break;
        }
        close_fd(m.fd); // not taken: closed
    }
    batch.clear();
    batch_.swap(batch); // keeps its room for the next drain
}

void Forwarder::relay_open(ToMain &m)
{
    auto r = std::make_unique<Relay>(*this, m.id);
    Relay *rp = r.get();
    relays_[m.id] = std::move(r);
    rp->tid = via_->open(m.host, m.port, std::exchange(m.fd, -1), rp);
}

void Forwarder::relay_close(uint64_t rid) noexcept
{
    auto it = relays_.find(rid);
    if (it == relays_.end())
        return;
    via_->close(it->second->tid);
    relays_.erase(it);
}

} // namespace pssh
