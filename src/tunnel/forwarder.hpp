// The owning loop's side of one forwarder thread: one per distinct proxy
// hop (the same hop reached the same way, with the same credentials),
// shared by every host behind it and by the next hop of every chain through
// it. Reference counted on the owning loop's thread: held by the open
// tunnels through it (a host's connection, or the next hop's forwarder);
// the last release stops and joins the thread.
#pragma once
#include "../util/ref.hpp"
#include "forwarder_thread.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pssh {

class Forwarders;

// Who waits for a tunnel through a forwarder (on the owning loop's thread).
class TunnelWaiter {
public:
    virtual void tunnel_open() = 0;
    // The forwarder let go of it: no close() is needed.
    virtual void tunnel_failed(const Failure &f, bool final) = 0;
    virtual void tunnel_lost(const Failure &f) = 0;

protected:
    ~TunnelWaiter() = default;
};

class Forwarder final : public RefCounted {
public:
    // Starts the thread for hops[n-1], reached through via (hops[n-2]'s
    // forwarder) when n > 1. Null with *why set on failure.
    static Ref<Forwarder> start(Forwarders &reg, uint64_t id, std::string key, const std::vector<ProxyHop> &hops,
                                size_t n, Ref<Forwarder> via, std::string *why);

    // A tunnel to host:port; far_fd is the thread's end of the socketpair
    // (handed over, closed by the thread). Returns its id.
    uint64_t open(const std::string &host, int port, int far_fd, TunnelWaiter *w);
    // The waiter lets go (it is not called again).
    void close(uint64_t tid) noexcept;
    // What the thread said (posted to the owning loop).
    void drain();

    uint64_t id() const noexcept { return id_; }
    const std::string &key() const noexcept { return key_; }
    const std::string &display() const noexcept { return thread_->display(); }
    bool proxy_up() const noexcept { return up_; }

private:
    struct Relay; // a tunnel through via_ that our own thread's connection uses
    Forwarder(Forwarders &reg, uint64_t id, std::string key, Ref<Forwarder> via);
    ~Forwarder() override;
    void relay_open(ToMain &m);
    void relay_close(uint64_t rid) noexcept;

    Forwarders &reg_;
    const uint64_t id_;
    const std::string key_;
    Ref<Forwarder> via_;
    std::unique_ptr<ForwarderThread> thread_;
    bool started_ = false;
    std::unordered_map<uint64_t, TunnelWaiter *> waiters_;
    std::unordered_map<uint64_t, std::unique_ptr<Relay>> relays_;
    uint64_t next_tid_ = 1;
    bool up_ = false;
    std::vector<ToMain> batch_;
};

} // namespace pssh
