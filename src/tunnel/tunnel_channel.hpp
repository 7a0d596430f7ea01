// A tunnel: one direct-tcpip channel on a forwarder's proxy session,
// pumped to and from one end of a socketpair whose other end is a host's
// session (or the next hop's) on another thread. A Channel kind
// (channel.hpp): open, pump, close, stepped by its session.
//
// Bounded: bytes read from the socket stay in the socket until the channel
// has taken them (peeked, then consumed), and reading the channel stops
// while the socket has no room, so the SSH window holds the host back. Only
// what the socket refused of one read is kept here.
#pragma once
#include "../ssh/channel.hpp"
#include "../ssh/session.hpp"

#include <string>

namespace pssh {

class ForwarderThread;

class TunnelChannel final : public Channel, IoHandler {
public:
    // fd: the thread's end of the socketpair (ours from now on).
    static Ref<TunnelChannel> create(ForwarderThread &core, Ref<Session> s, uint64_t id, int fd,
                                     std::string host, int port);

    Wait step() override;
    _LIBSSH2_CHANNEL *handle() const noexcept override { return ch_; }
    bool waits_for_reader() const noexcept override { return !rest_.empty(); }

    // A keepalive request on this channel (the proxy answers it, as it
    // must answer every request: see ForwarderThread::tick).
    bool can_ping() const noexcept;
    void ping();
    // The requester let go: what it wrote still goes out, then the channel
    // closes in the background.
    void release();
    // The thread stops: everything closes now.
    void abandon() noexcept;

private:
    enum class State { Queued, Opening, Open, Releasing, Done, Failed, Lost };
    enum class Ping { None, Want, Sent };
    // The last libssh2 call on this channel that said EAGAIN: it may own
    // the session's half-sent packet, which only the same call can finish
    // (libssh2 refuses every other packet until then). The channel is let
    // go of only once it owns none.
    enum class Op { None, Open, Read, Write, Ping, Eof };

    TunnelChannel(ForwarderThread &core, Ref<Session> s, uint64_t id, int fd, std::string host, int port);
    ~TunnelChannel() override;

    void on_io(unsigned events) override;
    Wait open();
    Wait pump();
    Wait release_step();
    bool owns_packet();
    bool to_socket(const char *p, size_t n);
    bool flush_rest();
    Wait fail_open(int rc);
    Wait fail_io(long rc, const char *what);
    Wait lost(const Failure &f);
    Wait finish();
    void end(State s) noexcept;
    void let_go_of_channel() noexcept;
    void close_socket() noexcept;
    void watch(unsigned events);
    bool spurious(long rc);
    std::string where() const;

    ForwarderThread &core_;
    Ref<Session> session_;
    const uint64_t id_;
    int fd_;
    Token token_ = kNoToken;
    unsigned watching_ = 0;
    const std::string host_;
    const int port_;
    _LIBSSH2_CHANNEL *ch_ = nullptr;
    State state_ = State::Queued;
    Ping ping_ = Ping::None;
    Op op_ = Op::None;
    bool was_opening_ = false; // released mid-open: the open is finished first
    std::string rest_;         // read from the channel, refused by the socket so far
    bool ch_eof_ = false;      // the host's side ended
    bool sock_eof_ = false;    // the requester's side ended
    bool sock_drained_ = false; // the last read of the socket found nothing
    bool shut_wr_ = false, eof_sent_ = false;
    int spurious_ = 0;
    static constexpr int kMaxSpurious = 8;
};

} // namespace pssh
