// How a Session reaches a host behind proxies: instead of a TCP connect it
// asks its loop's tunnel provider for a byte stream to host:port, and gets
// one end of a socketpair whose other end a forwarder thread pumps through
// a direct-tcpip channel (src/tunnel). The answers come back on the loop's
// thread, through these calls.
#pragma once
#include "../util/failure.hpp"

#include <cstdint>
#include <string>

namespace pssh {

struct Settings;

class TunnelTarget {
public:
    // The stream is open: fd (non-blocking, close-on-exec) is the caller's.
    virtual void on_tunnel_open(int fd) = 0;
    // Never opened. final: not worth another attempt (e.g. the proxy
    // refused our credentials, or its host key is wrong).
    virtual void on_tunnel_failed(const Failure &f, bool final) = 0;
    // Open, then the proxy's connection failed under it: nothing more will
    // come through fd (it is not closed yet, so what arrived stays readable).
    virtual void on_tunnel_lost(const Failure &f) = 0;

protected:
    ~TunnelTarget() = default;
};

class TunnelProvider {
public:
    virtual ~TunnelProvider() = default;
    // A stream to st.host:st.port through st.proxies. Returns its id, or 0
    // with *why set (no descriptors, no thread).
    virtual uint64_t open(const Settings &st, TunnelTarget *t, std::string *why) = 0;
    // The caller lets go (before or after the answer); t is not called again.
    virtual void close(uint64_t id) noexcept = 0;
    // What an open still waits for, for a deadline's message ("connecting
    // to proxy ...").
    virtual std::string pending(uint64_t id) const = 0;
};

} // namespace pssh
