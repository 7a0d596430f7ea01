#include "tunnel_channel.hpp"

#include "../ssh/transport_error.hpp"
#include "forwarder_thread.hpp"

#include <cerrno>
#include <cstring>
#include <libssh2.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pssh {

namespace {

// The originator a direct-tcpip open names, as ssh -W does.
constexpr const char *kOriginHost = "127.0.0.1";
constexpr int kOriginPort = 65535;
// A request every server answers with success or failure: the keepalive.
constexpr char kPingVar[] = "LIBPSSH_KEEPALIVE";
// Bytes one step moves in each direction before the other tunnels run.
constexpr size_t kStepBudget = 256 * 1024;

#ifdef MSG_NOSIGNAL
constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;
#else
constexpr int kSendFlags = MSG_DONTWAIT; // SO_NOSIGPIPE is set on the pair
#endif

bool again(ssize_t n) { return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK); }

} // namespace

Ref<TunnelChannel> TunnelChannel::create(ForwarderThread &core, Ref<Session> s, uint64_t id, int fd,
                                         std::string host, int port)
{
    auto *t = new TunnelChannel(core, std::move(s), id, fd, std::move(host), port);
    Ref<TunnelChannel> r = Ref<TunnelChannel>::adopt(t);
    t->session_->attach(t); // connects the proxy if needed
    return r;
}

TunnelChannel::TunnelChannel(ForwarderThread &core, Ref<Session> s, uint64_t id, int fd, std::string host,
                             int port)
    : core_(core), session_(std::move(s)), id_(id), fd_(fd), host_(std::move(host)), port_(port)
{
}

TunnelChannel::~TunnelChannel()
{
    close_socket();
    let_go_of_channel();
    session_->detach(this);
}

std::string TunnelChannel::where() const
{
    bool v6 = host_.find(':') != std::string::npos;
    return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

void TunnelChannel::on_io(unsigned) { session_->wake(this); }

void TunnelChannel::watch(unsigned events)
{
    if (token_ == kNoToken || events == watching_)
        return;
    if (core_.loop().reactor().watch(token_, events) == 0)
        watching_ = events;
}

void TunnelChannel::close_socket() noexcept
{
    if (token_ != kNoToken) {
        core_.loop().reactor().remove(token_);
        token_ = kNoToken;
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

// The session closes and frees it in the background (or frees it with
// itself when it is over).
void TunnelChannel::let_go_of_channel() noexcept
{
    if (ch_) {
        session_->adopt_channel(ch_);
        ch_ = nullptr;
    }
}

void TunnelChannel::end(State s) noexcept
{
    state_ = s;
    if (ping_ != Ping::None) {
        ping_ = Ping::None;
        core_.ping_over();
    }
    if (token_ != kNoToken) {
        core_.loop().reactor().remove(token_);
        token_ = kNoToken;
    }
    session_->detach(this);
}

// libssh2 1.10 says -1 ("no packet available yet") when a read completes
// without the awaited reply: spurious on a live connection (see Output).
bool TunnelChannel::spurious(long rc)
{
    if (rc != LIBSSH2_ERROR_SOCKET_NONE || spurious_ >= kMaxSpurious || !session_->socket_alive())
        return false;
    spurious_++;
    return true;
}

bool TunnelChannel::can_ping() const noexcept
{
    return state_ == State::Open && !ch_eof_ && ping_ == Ping::None;
}

void TunnelChannel::ping()
{
    ping_ = Ping::Want;
    session_->wake(this);
}

Channel::Wait TunnelChannel::step()
{
    switch (state_) {
    case State::Queued:
        return open();
    case State::Opening:
        if (session_->over()) { // its open died with it
            session_->release_open(this);
            op_ = Op::None;
            return fail_open(LIBSSH2_ERROR_SOCKET_DISCONNECT);
        }
        return open();
    case State::Open:
        if (session_->over()) {
            bool final = false;
            return lost(core_.proxy_failure(*session_, &final));
        }
        return pump();
    case State::Releasing:
        return release_step();
    default:
        return Wait::None;
    }
}

Channel::Wait TunnelChannel::open()
{
    Session &s = *session_;
    if (state_ == State::Queued) {
        if (s.over()) { // the proxy could not be reached (or was lost)
            bool final = false;
            Failure f = core_.proxy_failure(s, &final);
            end(State::Failed);
            close_socket();
            core_.tunnel_failed(id_, f, final);
            return Wait::None;
        }
        if (!s.ready() || !s.acquire_open(this))
            return Wait::None;
        state_ = State::Opening;
    }
    ch_ = libssh2_channel_direct_tcpip_ex(s.raw(), host_.c_str(), port_, kOriginHost, kOriginPort);
    if (!ch_) {
        int e = libssh2_session_last_errno(s.raw());
        if (e == LIBSSH2_ERROR_EAGAIN || spurious(e)) { // spurious: libssh2 dropped it; open again
            op_ = Op::Open;
            return Wait::Libssh2;
        }
        op_ = Op::None;
        s.release_open(this);
        return fail_open(e);
    }
    op_ = Op::None;
    s.release_open(this);
    token_ = core_.loop().reactor().add(fd_, 0, this);
    if (token_ == kNoToken) {
        Failure f;
        f.set(PSSH_E_RESOURCE, s.settings().display + ": cannot watch a tunnel's socket: " + strerror(errno));
        let_go_of_channel();
        end(State::Failed);
        close_socket();
        core_.tunnel_failed(id_, f, false);
        return Wait::None;
    }
    state_ = State::Open;
    core_.tunnel_opened(id_);
    return pump();
}

// The proxy refused the channel ("connect failed" when it cannot reach the
// host), or its connection failed under the open.
Channel::Wait TunnelChannel::fail_open(int rc)
{
    Session &s = *session_;
    std::string why = libssh2_message(s.raw());
    Failure f;
    bool final = false;
    if (is_transport_error(rc) || s.over()) {
        s.mark_dead("connection lost while opening a channel to " + where() + ": " + why);
        f = core_.proxy_failure(s, &final);
        final = false;
    } else {
        f.set(PSSH_E_PROXY, s.settings().display + ": cannot reach " + where() + " from it: " + why +
                                " (libssh2 error " + std::to_string(rc) + ")");
        // The proxy forbids forwarding: another attempt gets the same answer.
        final = why.find("prohibited") != std::string::npos;
    }
    end(State::Failed);
    close_socket();
    core_.tunnel_failed(id_, f, final);
    return Wait::None;
}

Channel::Wait TunnelChannel::fail_io(long rc, const char *what)
{
    Session &s = *session_;
    std::string why = libssh2_message(s.raw()) + " (libssh2 error " + std::to_string(rc) + ")";
    Failure f;
    if (is_transport_error(rc) || !s.socket_alive()) { // as Output::fail_io
        s.mark_dead(std::string("connection lost while ") + what + " " + where() + ": " + why);
        bool final = false;
        f = core_.proxy_failure(s, &final);
    } else {
        f.set(PSSH_E_PROXY, s.settings().display + ": tunnel to " + where() + " failed while " + what + ": " + why);
    }
    return lost(f);
}

// Open, then gone under us. The socket stays open (what arrived stays
// readable on the other side) until the requester lets go.
Channel::Wait TunnelChannel::lost(const Failure &f)
{
    op_ = Op::None; // the session is over, or this channel broke: nothing to finish
    let_go_of_channel();
    end(State::Lost);
    core_.tunnel_lost(id_, f);
    return Wait::None;
}

// Over (both ends closed, or the requester gone): once the channel owns no
// half-sent packet, the session closes it in the background.
Channel::Wait TunnelChannel::finish()
{
    if (owns_packet()) {
        state_ = State::Releasing;
        return Wait::Libssh2;
    }
    end(State::Done);
    close_socket();
    let_go_of_channel();
    core_.tunnel_done(id_);
    return Wait::None;
}

bool TunnelChannel::to_socket(const char *p, size_t n)
{
    ssize_t w = send(fd_, p, n, kSendFlags);
    if (w < 0 && !again(w))
        return false; // the requester is gone
    size_t sent = w < 0 ? 0 : size_t(w);
    if (sent < n)
        rest_.append(p + sent, n - sent);
    return true;
}

bool TunnelChannel::flush_rest()
{
    ssize_t w = send(fd_, rest_.data(), rest_.size(), kSendFlags);
    if (w < 0)
        return again(w);
    rest_.erase(0, size_t(w));
    if (rest_.empty())
        std::string().swap(rest_); // keep no buffer while the socket takes everything
    return true;
}

Channel::Wait TunnelChannel::pump()
{
    Session &s = *session_;
    bool lib = false, data = false;
    char *buf = core_.scratch();
    const size_t cap = core_.scratch_size();

    // The keepalive: answered (success or failure) means the proxy lives.
    if (ping_ == Ping::Sent && ch_eof_) { // a closing channel may get no answer
        ping_ = Ping::None;
        core_.ping_over();
    }
    if (ping_ != Ping::None) {
        ping_ = Ping::Sent;
        int rc = libssh2_channel_setenv_ex(ch_, kPingVar, sizeof kPingVar - 1, "1", 1);
        if (rc == LIBSSH2_ERROR_EAGAIN) {
            op_ = Op::Ping;
            lib = true;
        } else if (rc && is_transport_error(rc) && !spurious(rc)) {
            return fail_io(rc, "asking for a keepalive answer on");
        } else {
            op_ = Op::None;
            ping_ = Ping::None;
            core_.ping_over();
        }
    }

    // Host to requester: read while the socket takes it all; what it
    // refuses waits for room (EV_WRITE), and the channel is not read
    // meanwhile, so the host's window holds it back.
    size_t budget = kStepBudget;
    for (;;) {
        if (!rest_.empty() && !flush_rest())
            return finish();
        if (!rest_.empty() || ch_eof_)
            break;
        if (budget == 0) {
            s.wake(this); // more later: the other tunnels run first
            break;
        }
        ssize_t n = libssh2_channel_read(ch_, buf, cap);
        if (n > 0) {
            op_ = Op::None;
            budget -= size_t(n) < budget ? size_t(n) : budget;
            if (!to_socket(buf, size_t(n)))
                return finish();
            continue;
        }
        if (n == LIBSSH2_ERROR_EAGAIN || (n < 0 && spurious(n))) {
            op_ = Op::Read; // may be finishing a window adjustment
            data = true;
            break;
        }
        if (n < 0)
            return fail_io(n, "reading from");
        op_ = Op::None;
        if (libssh2_channel_eof(ch_))
            ch_eof_ = true;
        else
            data = true;
        break;
    }
    if (ch_eof_ && rest_.empty() && !shut_wr_) {
        shutdown(fd_, SHUT_WR);
        shut_wr_ = true;
    }

    // Requester to host: peeked, and consumed only once libssh2 took it (a
    // write that says EAGAIN is repeated with the same bytes).
    budget = kStepBudget;
    while (!sock_eof_ && !lib && budget > 0) {
        ssize_t n = recv(fd_, buf, cap, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (again(n)) {
            sock_drained_ = true;
            break;
        }
        if (n <= 0) {
            sock_eof_ = true; // ended, or reset by a requester that let go
            break;
        }
        sock_drained_ = false;
        ssize_t w = libssh2_channel_write(ch_, buf, size_t(n));
        if (w > 0) {
            op_ = Op::None;
            ssize_t r = recv(fd_, buf, size_t(w), MSG_DONTWAIT); // what libssh2 took
            (void)r;
            budget -= size_t(w) < budget ? size_t(w) : budget;
            continue;
        }
        if (w == 0 || w == LIBSSH2_ERROR_EAGAIN || spurious(w)) { // 0: the host's window is full
            op_ = Op::Write;
            lib = true;
            break;
        }
        return fail_io(w, "writing to");
    }
    if (budget == 0)
        s.wake(this);
    if (sock_eof_ && !eof_sent_ && !lib) {
        int rc = libssh2_channel_send_eof(ch_);
        if (rc == LIBSSH2_ERROR_EAGAIN) {
            op_ = Op::Eof;
            lib = true;
        } else if (rc && is_transport_error(rc) && !spurious(rc)) {
            return fail_io(rc, "closing the way to");
        } else {
            op_ = Op::None;
            eof_sent_ = true;
        }
    }
    if (eof_sent_ && ch_eof_ && rest_.empty() && op_ == Op::None)
        return finish();
    watch((!sock_eof_ && sock_drained_ ? unsigned(EV_READ) : 0u) | (rest_.empty() ? 0u : unsigned(EV_WRITE)));
    if (lib)
        return Wait::Libssh2;
    return data && rest_.empty() ? Wait::Data : Wait::None;
}

// True while the call that last said EAGAIN may still own the session's
// half-sent packet; it is repeated (its arguments are all still here).
bool TunnelChannel::owns_packet()
{
    Session &s = *session_;
    if (op_ == Op::None || s.over() || !s.raw())
        return false;
    if (!(libssh2_session_block_directions(s.raw()) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
        return false; // no packet is half sent: ours least of all
    long rc = 0;
    switch (op_) {
    case Op::Open: {
        LIBSSH2_CHANNEL *ch = libssh2_channel_direct_tcpip_ex(s.raw(), host_.c_str(), port_, kOriginHost, kOriginPort);
        rc = ch ? 0 : libssh2_session_last_errno(s.raw());
        if (ch)
            ch_ = ch;
        break;
    }
    case Op::Read: {
        char *buf = core_.scratch();
        rc = libssh2_channel_read(ch_, buf, core_.scratch_size()); // the requester is gone: dropped
        break;
    }
    case Op::Write: {
        char *buf = core_.scratch();
        ssize_t n = recv(fd_, buf, core_.scratch_size(), MSG_PEEK | MSG_DONTWAIT);
        if (n <= 0) // the bytes it was given are gone: a packet half sent is lost too
            return false;
        rc = libssh2_channel_write(ch_, buf, size_t(n));
        if (rc > 0) {
            ssize_t r = recv(fd_, buf, size_t(rc), MSG_DONTWAIT);
            (void)r;
        }
        break;
    }
    case Op::Ping:
        rc = libssh2_channel_setenv_ex(ch_, kPingVar, sizeof kPingVar - 1, "1", 1);
        break;
    case Op::Eof:
        rc = libssh2_channel_send_eof(ch_);
        break;
    case Op::None:
        break;
    }
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return true;
    op_ = Op::None;
    return false;
}

void TunnelChannel::release()
{
    switch (state_) {
    case State::Queued:
        end(State::Done);
        close_socket();
        core_.tunnel_done(id_);
        return;
    case State::Opening:
        // libssh2's direct-tcpip open lives in the session: it is finished
        // here, with the same arguments, before anything else opens.
        was_opening_ = true;
        state_ = State::Releasing;
        op_ = Op::Open;
        session_->wake(this);
        return;
    case State::Open:
        state_ = State::Releasing;
        session_->wake(this);
        return;
    default:
        close_socket();
        core_.tunnel_done(id_);
        return;
    }
}

Channel::Wait TunnelChannel::release_step()
{
    Session &s = *session_;
    if (was_opening_ && !s.over()) {
        if (!ch_) {
            ch_ = libssh2_channel_direct_tcpip_ex(s.raw(), host_.c_str(), port_, kOriginHost, kOriginPort);
            if (!ch_ && libssh2_session_last_errno(s.raw()) == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
        }
        was_opening_ = false;
        op_ = Op::None;
        s.release_open(this);
    } else if (owns_packet()) {
        return Wait::Libssh2;
    }
    if (was_opening_) {
        was_opening_ = false;
        s.release_open(this);
    }
    return finish();
}

void TunnelChannel::abandon() noexcept
{
    if (state_ == State::Opening || (state_ == State::Releasing && was_opening_))
        session_->release_open(this);
    op_ = Op::None;
    end(State::Done);
    close_socket();
    let_go_of_channel();
}

} // namespace pssh
