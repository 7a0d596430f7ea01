// A forwarder's own way to its proxy when the proxy is not the first hop:
// the loop of hop N connects through a tunnel of hop N-1. The request goes
// to the owning loop (which knows every forwarder) and the answers come
// back the same way; the bytes then flow between the two forwarder threads
// over the socketpair made here.
#pragma once
#include "../ssh/tunnel.hpp"

#include <unordered_map>

namespace pssh {

class ForwarderThread;

class Relay final : public TunnelProvider {
public:
    explicit Relay(ForwarderThread &core) : core_(core) {}
    ~Relay() override { teardown(); }

    uint64_t open(const Settings &st, TunnelTarget *t, std::string *why) override;
    void close(uint64_t id) noexcept override;
    std::string pending(uint64_t id) const override;

    // The answers, from the owning loop.
    void opened(uint64_t id);
    void failed(uint64_t id, const Failure &f, bool final);
    void lost(uint64_t id, const Failure &f);
    // The thread stops: our ends are closed.
    void teardown() noexcept;

private:
    struct Entry {
        TunnelTarget *target;
        int fd; // our end, until handed to the target
        std::string where;
    };
    ForwarderThread &core_;
    std::unordered_map<uint64_t, Entry> entries_;
    uint64_t next_ = 1;
};

} // namespace pssh
