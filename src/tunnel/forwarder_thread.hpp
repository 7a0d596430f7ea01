// One forwarder thread: its own Loop (reactor, resolver, known_hosts and
// key caches), one SSH session to its proxy hop, and one TunnelChannel per
// tunnel through it. The owning loop's side is Forwarder (forwarder.hpp);
// the two talk only through their mailboxes and each other's reactor posts.
//
// Lifetime: made and started by the owner, stopped (flag, then wake) and
// joined by the owner or by the exit handler (exit_guard.hpp). The thread
// tears down everything it made before it returns; the object itself is
// freed by the owner after the join.
#pragma once
#include "../ssh/loop.hpp"
#include "../ssh/session.hpp"
#include "mailbox.hpp"

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

namespace pssh {

class TunnelChannel;
class Relay;

class ForwarderThread final : Session::Watcher {
public:
    // How to wake the owner: post(fn, ctx, arg) on its reactor.
    struct Owner {
        Reactor *reactor;
        Reactor::PostFn fn;
        void *ctx;
        uintptr_t arg;
        int log_level; // the owner's loop's, -1: none
    };
    // hop: the proxy this thread connects to; before: the hops in front of
    // it (empty for the first hop: a TCP connect).
    ForwarderThread(const ProxyHop &hop, const std::vector<ProxyHop> &before, Owner owner);
    ~ForwarderThread();
    ForwarderThread(const ForwarderThread &) = delete;
    ForwarderThread &operator=(const ForwarderThread &) = delete;

    // Owner side.
    bool start(std::string *why);
    void stop() noexcept; // any thread
    void join() noexcept;
    void send(ToThread m);
    void take(std::vector<ToMain> &out) { to_main_.take(out); }
    // After the join: what the owner sent that was never acted on (its
    // descriptors are closed).
    void discard_unread() noexcept;
    const std::string &display() const noexcept { return display_; }

    // Thread side (tunnels, the relay).
    void to_main(ToMain m);
    Loop &loop() noexcept { return *loop_; }
    char *scratch() noexcept { return scratch_.data(); }
    size_t scratch_size() const noexcept { return scratch_.size(); }
    void tunnel_opened(uint64_t id);
    void tunnel_failed(uint64_t id, Failure f, bool final); // the thread lets go of it
    void tunnel_lost(uint64_t id, Failure f);               // kept until the owner closes it
    void tunnel_done(uint64_t id);                          // ended by itself: let go of it
    // The keepalive ping was answered, or dropped with its channel.
    void ping_over() noexcept { ping_out_ = false; }
    // Failures of our proxy that came from the hop before it keep that
    // hop's verdict on retrying.
    void note_relay_failure(bool final) noexcept { relay_final_ = final; }
    // The proxy's failure as the tunnels report it: a failure that came
    // from the hop in front already names it, and is passed on as it is.
    Failure proxy_failure(const Session &s, bool *final) const;

private:
    void run();
    void teardown();
    static void on_post(void *self, uintptr_t);
    void drain();
    void open_tunnel(ToThread &m);
    void close_tunnel(uint64_t id);
    Session &live_proxy();
    void on_settled(Session &s) override;
    static void on_tick(void *self);
    void tick();

    // Set before start, read-only after.
    Owner owner_;
    std::string display_;
    int keepalive_s_ = 0;
    Ref<Loop> loop_;
    Ref<Settings> st_;
    Relay *relay_ = nullptr; // owned by loop_

    Mailbox<ToThread> to_thread_;
    Mailbox<ToMain> to_main_;
    std::atomic<bool> stop_{false};
    std::thread thread_;

    // Thread only.
    std::vector<ToThread> batch_;
    std::vector<char> scratch_;
    Ref<Session> proxy_;
    bool up_ = false;
    bool relay_final_ = false;
    std::unordered_map<uint64_t, Ref<TunnelChannel>> tunnels_;
    Timer tick_{&ForwarderThread::on_tick, this};
    bool ping_out_ = false;
};

} // namespace pssh
