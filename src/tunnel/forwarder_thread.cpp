#include "forwarder_thread.hpp"

#include "exit_guard.hpp"
#include "relay.hpp"
#include "tunnel_channel.hpp"

#include <csignal>
#include <cstdarg>
#include <pthread.h>
#include <system_error>
#include <unistd.h>

namespace pssh {

namespace {

constexpr size_t kScratch = 64 * 1024; // one read or peek of a tunnel's bytes

void close_fd(int fd)
{
    if (fd >= 0)
        ::close(fd);
}

// The thread's log lines go to the owning loop's log (callbacks run on
// that loop's thread only).
void forward_log(pssh_log_level level, const char *msg, void *ud)
{
    ToMain m{ToMain::Kind::Log};
    m.level = int(level);
    m.text = msg;
    static_cast<ForwarderThread *>(ud)->to_main(std::move(m));
}

} // namespace

ForwarderThread::ForwarderThread(const ProxyHop &hop, const std::vector<ProxyHop> &before, Owner owner)
    : owner_(owner), display_(hop.display), keepalive_s_(hop.cfg.keepalive_s)
{
    auto st = Ref<Settings>::adopt(new Settings());
    st->host = hop.host;
    st->port = hop.port;
    st->user = hop.user;
    st->given = st->display = hop.display;
    st->cfg = hop.cfg;
    st->proxies = before;
    st_ = std::move(st);
}

ForwarderThread::~ForwarderThread()
{
    // Joined by now (or never started): everything it made is gone.
    discard_unread();
}

bool ForwarderThread::start(std::string *why)
{
    pssh_err err;
    loop_ = Ref<Loop>::adopt(Loop::create(&err));
    if (!loop_) {
        *why = "cannot make a loop for the forwarder thread";
        return false;
    }
    if (owner_.log_level >= 0)
        loop_->set_log(pssh_log_level(owner_.log_level), forward_log, this);
    else
        loop_->set_log(PSSH_LOG_ERROR, nullptr, nullptr);
    if (!st_->proxies.empty()) {
        auto relay = std::make_unique<Relay>(*this);
        relay_ = relay.get();
        loop_->set_tunnels(std::move(relay));
    }
    scratch_.resize(kScratch);
    if (!exit_guard::enter(this)) {
        *why = "the process is exiting";
        return false;
    }
    // The thread takes no signals: they belong to the caller's threads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
        thread_ = std::thread(&ForwarderThread::run, this);
    } catch (const std::system_error &e) {
        *why = std::string("cannot start a forwarder thread: ") + e.what();
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (!thread_.joinable()) {
        exit_guard::leave(this);
        return false;
    }
    return true;
}

void ForwarderThread::stop() noexcept
{
    stop_.store(true, std::memory_order_release);
    if (loop_)
        loop_->reactor().wakeup();
}

void ForwarderThread::join() noexcept
{
    if (thread_.joinable())
        thread_.join();
}

void ForwarderThread::send(ToThread m)
{
    if (to_thread_.push(std::move(m)))
        loop_->reactor().post(&ForwarderThread::on_post, this, 0);
}

void ForwarderThread::to_main(ToMain m)
{
    if (to_main_.push(std::move(m)))
        owner_.reactor->post(owner_.fn, owner_.ctx, owner_.arg);
}

void ForwarderThread::discard_unread() noexcept
{
    std::vector<ToThread> left;
    to_thread_.take(left);
    for (ToThread &m : left)
        close_fd(m.fd);
}

void ForwarderThread::run()
{
    Reactor &r = loop_->reactor();
    if (keepalive_s_ > 0)
        r.arm(tick_, now_ns() + ms_to_ns(int64_t(keepalive_s_) * 1000));
    while (!stop_.load(std::memory_order_acquire))
        if (r.run_once(-1) < 0) {
            loop_->log(PSSH_LOG_ERROR, "%s: forwarder loop failed: stopping", display_.c_str());
            break;
        }
    teardown();
}

// Everything the thread made goes here, on the thread: channels before the
// session they live on, the session before the loop.
void ForwarderThread::teardown()
{
    loop_->reactor().cancel(tick_);
    if (proxy_)
        proxy_->set_watcher(nullptr);
    Failure gone;
    gone.set(PSSH_E_PROXY, display_ + ": forwarder stopped");
    for (auto &t : tunnels_)
        t.second->abandon();
    if (!stop_.load(std::memory_order_acquire)) // stopped by a failure: the owner must hear of it
        for (auto &t : tunnels_) {
            ToMain m{ToMain::Kind::Lost};
            m.id = t.first;
            m.failure = gone;
            to_main(std::move(m));
        }
    tunnels_.clear();
    proxy_.reset();
    if (relay_)
        relay_->teardown();
    discard_unread();
}

void ForwarderThread::on_post(void *p, uintptr_t)
{
    static_cast<ForwarderThread *>(p)->drain();
}

void ForwarderThread::drain()
{
    to_thread_.take(batch_);
    for (ToThread &m : batch_) {
        switch (m.kind) {
        case ToThread::Kind::Open:
            open_tunnel(m);
            break;
        case ToThread::Kind::Close:
            close_tunnel(m.id);
            break;
        case ToThread::Kind::RelayOpened:
            if (relay_)
                relay_->opened(m.id);
            break;
        case ToThread::Kind::RelayFailed:
            if (relay_)
                relay_->failed(m.id, m.failure, m.final);
            break;
        case ToThread::Kind::RelayLost:
            if (relay_)
                relay_->lost(m.id, m.failure);
            break;
        }
        close_fd(m.fd); // not taken: closed
    }
    batch_.clear();
}

// The current connection to the proxy, or a new one when there is none or
// it is over (a proxy that failed or went away is tried again by the next
// tunnel: the hosts' own attempts and retries pace it).
Session &ForwarderThread::live_proxy()
{
    if (!proxy_ || proxy_->over()) {
        if (proxy_)
            proxy_->set_watcher(nullptr);
        if (up_) {
            up_ = false;
            to_main(ToMain{ToMain::Kind::ProxyDown});
        }
        proxy_ = Session::create(*loop_, st_);
        proxy_->set_watcher(this);
        ping_out_ = false;
    }
    return *proxy_;
}

void ForwarderThread::on_settled(Session &s)
{
    if (&s != proxy_.get())
        return;
    up_ = s.ready();
    to_main(ToMain{up_ ? ToMain::Kind::ProxyUp : ToMain::Kind::ProxyDown});
}

void ForwarderThread::open_tunnel(ToThread &m)
{
    const int fd = std::exchange(m.fd, -1);
    Session &s = live_proxy();
    tunnels_[m.id] = TunnelChannel::create(*this, Ref<Session>::share(&s), m.id, fd, std::move(m.host), m.port);
}

void ForwarderThread::close_tunnel(uint64_t id)
{
    auto it = tunnels_.find(id);
    if (it == tunnels_.end())
        return; // over by itself already
    Ref<TunnelChannel> keep = it->second; // release() may end it here
    keep->release();
}

void ForwarderThread::tunnel_opened(uint64_t id)
{
    ToMain m{ToMain::Kind::Opened};
    m.id = id;
    to_main(std::move(m));
}

void ForwarderThread::tunnel_failed(uint64_t id, Failure f, bool final)
{
    ToMain m{ToMain::Kind::Failed};
    m.id = id;
    m.failure = std::move(f);
    m.final = final;
    to_main(std::move(m));
    tunnels_.erase(id);
}

void ForwarderThread::tunnel_lost(uint64_t id, Failure f)
{
    if (up_) {
        up_ = false;
        to_main(ToMain{ToMain::Kind::ProxyDown});
    }
    ToMain m{ToMain::Kind::Lost};
    m.id = id;
    m.failure = std::move(f);
    to_main(std::move(m));
}

void ForwarderThread::tunnel_done(uint64_t id) { tunnels_.erase(id); }

Failure ForwarderThread::proxy_failure(const Session &s, bool *final) const
{
    Failure f = s.failure();
    if (!f)
        f.set(PSSH_E_PROXY, display_ + ": connection closed");
    *final = !retryable_failure(f.code);
    if (f.code == PSSH_E_PROXY && !st_->proxies.empty()) {
        // It came from the hop in front: that hop is named in it already.
        const std::string prefix = display_ + ": ";
        if (f.msg.compare(0, prefix.size(), prefix) == 0)
            f.msg.erase(0, prefix.size());
        *final = relay_final_;
    }
    f.code = PSSH_E_PROXY;
    return f;
}

void ForwarderThread::on_tick(void *p) { static_cast<ForwarderThread *>(p)->tick(); }

// The keepalive. libssh2's own keepalive never asks for an answer (each
// answer would stay in memory until the session is freed), so it cannot
// tell a dead proxy from an idle one; this one asks for an answer on an
// open tunnel every interval, and a proxy that has not answered by the next
// interval is gone: every tunnel through it fails within two intervals.
void ForwarderThread::tick()
{
    loop_->reactor().arm(tick_, now_ns() + ms_to_ns(int64_t(keepalive_s_) * 1000));
    if (!proxy_ || !proxy_->ready()) {
        ping_out_ = false;
        return;
    }
    if (ping_out_) {
        ping_out_ = false;
        Ref<Session> p = proxy_;
        p->mark_dead("keepalive: no answer from the proxy within " + std::to_string(2 * keepalive_s_) + " s");
        return;
    }
    for (auto &t : tunnels_)
        if (t.second->can_ping()) {
            ping_out_ = true;
            t.second->ping();
            return;
        }
}

} // namespace pssh
