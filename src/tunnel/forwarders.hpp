// Every forwarder of one loop, by hop: the loop's TunnelProvider. A
// host behind proxies asks it for a stream; it finds (or starts) the
// forwarder of each hop of the chain, makes the socketpair, and hands the
// host's end over once the last proxy has opened the channel.
#pragma once
#include "../ssh/tunnel.hpp"
#include "forwarder.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace pssh {

class Loop;

class Forwarders final : public TunnelProvider {
public:
    explicit Forwarders(Loop &loop);
    ~Forwarders() override;

    uint64_t open(const Settings &st, TunnelTarget *t, std::string *why) override;
    void close(uint64_t id) noexcept override;
    std::string pending(uint64_t id) const override;

    Loop &loop() noexcept { return loop_; }
    // A forwarder going away.
    void forget(Forwarder *f) noexcept;
    // Posted by forwarder threads: arg is the forwarder's id (one that is
    // gone already is skipped).
    static void on_post(void *self, uintptr_t id);
    // Forwarders alive (for tests of the internals and the log).
    size_t size() const noexcept { return by_id_.size(); }

private:
    struct Record;
    Ref<Forwarder> hop(const std::vector<ProxyHop> &hops, size_t n, std::string *why);

    Loop &loop_;
    std::unordered_map<std::string, Forwarder *> by_key_;
    std::unordered_map<uint64_t, Forwarder *> by_id_;
    std::unordered_map<uint64_t, std::unique_ptr<Record>> records_;
    uint64_t next_fid_ = 1, next_rid_ = 1;
};

// For Loop::tunnels().
std::unique_ptr<TunnelProvider> make_forwarders(Loop &loop);

} // namespace pssh
