#include "session.hpp"
#include "wiping_alloc.hpp"


#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <libssh2.h>
#include <utility>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pssh {

namespace {

constexpr int kFreeTries = 8; // session_free after shutdown() cannot block

constexpr int kMaxPasses = 16; // then yield to other sessions for a turn

// A definitive answer that the name does not exist (or has no address of
// the family asked for) will not change in a few seconds: as final as a
// refusal. A temporary failure (EAI_AGAIN) or a local one is retried.
bool resolve_is_final(int gai_err)
{
    switch (gai_err) {
    case EAI_NONAME:
    case EAI_FAMILY:
    case EAI_SERVICE:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return true;
    }
    return false;
}

const char *phase_name(Session::State s)
{
    switch (s) {
    case Session::State::Resolving:
        return "resolving the host name";
    case Session::State::Connecting:
        return "connecting";
    case Session::State::Handshake:
        return "in the SSH handshake";
    case Session::State::AuthList:
    case Session::State::Auth:
        return "authenticating";
    default:
        return "connecting";
    }
}

std::string handshake_cause(int rc, LIBSSH2_SESSION *s)
{
    switch (rc) {
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
        return "no valid SSH banner from the server (is it an SSH server?)";
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_SOCKET_SEND:
        return "connection closed by the server during key exchange";
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
    case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
        return "key exchange failed (no common algorithm?): " + libssh2_message(s);
    }
    return libssh2_message(s) + " (libssh2 error " + std::to_string(rc) + ")";
}

} // namespace

// A proxy's failure is retried unless its own cause was final (the tunnel
// says so: see on_tunnel_failed).
bool retryable_failure(pssh_err code)
{
    return code == PSSH_E_UNKNOWN_HOST || code == PSSH_E_CONNECT || code == PSSH_E_TIMEOUT ||
           code == PSSH_E_SESSION || code == PSSH_E_PROXY;
}

// Every byte libssh2 takes from the socket passes the guard and is counted:
// a flow's read can pull in data meant for another channel or stream,
// leaving the socket empty, so run() steps the flows again until a whole
// pass has pulled in nothing new.
ssize_t Session::counting_recv(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
    return static_cast<Session *>(*abstract)->rx_.recv(fd, buf, len, flags);
}

std::string libssh2_message(void *session)
{
    char *msg = nullptr;
    int len = 0;
    if (!session)
        return {};
    libssh2_session_last_error(static_cast<LIBSSH2_SESSION *>(session), &msg, &len, 0);
    return msg ? std::string(msg, size_t(len)) : std::string();
}

const char *session_state_name(Session::State s)
{
    static const char *names[] = {"idle", "resolving",  "connecting", "handshake", "auth-list", "auth",
                                  "ready", "retry-wait", "failed",     "dead",      "closed"};
    return names[int(s)];
}

Ref<Session> Session::create(Loop &loop, Ref<Settings> st)
{
    return Ref<Session>::adopt(new Session(loop, std::move(st)));
}

Ref<Session> Session::create_failed(Loop &loop, Ref<Settings> st, pssh_err code, const std::string &msg)
{
    Ref<Session> s = create(loop, std::move(st));
    s->fail_.set(code, s->st_->display + ": " + msg);
    s->state_ = State::Failed;
    return s;
}

// Tells the watcher once (it may start other sessions from there).
void Session::settled()
{
    if (Watcher *w = watcher_) {
        watcher_ = nullptr;
        w->on_settled(*this);
    }
}

Session::Session(Loop &loop, Ref<Settings> st) : loop_(Ref<Loop>::share(&loop)), st_(std::move(st)) {}

Session::~Session()
{
    if (resolve_id_)
        loop_->resolver().cancel(resolve_id_);
    loop_->reactor().cancel(deadline_);
    loop_->reactor().cancel(retry_);
    loop_->reactor().cancel(keepalive_);
    kick_.cancel();
    close_transport();
    hold(false);
}

void Session::last_unref() noexcept { delete this; }

void Session::set_state(State s, int line)
{
    if (loop_->logs(PSSH_LOG_TRACE))
        loop_->log(PSSH_LOG_TRACE, "%s: session %s -> %s (session.cpp:%d)", st_->display.c_str(),
                   session_state_name(state_), session_state_name(s), line);
    state_ = s;
}
#define SET_STATE(s) set_state((s), __LINE__)

void Session::hold(bool on) noexcept
{
    if (on == holding_)
        return;
    holding_ = on;
    on ? loop_->reactor().hold() : loop_->reactor().release();
}

void Session::start()
{
    if (state_ == State::Failed) // failed before it began
        return settled();
    if (state_ != State::Idle)
        return;
    hold(true);
    begin_attempt();
}

// Every attempt plans its credentials afresh: closing a failed attempt's
// transport lets go of the last one's (agent connection, key material).
void Session::begin_attempt()
{
    attempt_++;
    fail_.clear();
    std::string why;
    if (pssh_err rc = auth_.plan(*loop_, *st_, &why); rc != PSSH_OK) {
        fail_.set(rc, st_->display + ": key: " + why);
        SET_STATE(State::Failed);
        hold(false);
        kick();
        settled();
        return;
    }
    t_attempt_ = t_phase_ = now_ns();
    if (st_->cfg.timeout_ms > 0)
        loop_->reactor().arm(deadline_, t_attempt_ + ms_to_ns(st_->cfg.timeout_ms));
    if (!st_->proxies.empty())
        return open_tunnel();
    SockAddr a;
    if (parse_literal(st_->host, st_->port, a)) {
        if (st_->cfg.ipv6_only && a.family() != AF_INET6)
            return fail_attempt(PSSH_E_UNKNOWN_HOST, "resolve: IPv4 address given with ipv6_only set", true);
        addrs_.assign(1, a);
        next_addr_ = 0;
        return try_next_address();
    }
    SET_STATE(State::Resolving);
    resolve_id_ = loop_->resolver().submit(st_->host, st_->port,
                                           st_->cfg.ipv6_only ? AF_INET6 : AF_UNSPEC, this);
    if (!resolve_id_)
        fail_attempt(PSSH_E_RESOURCE, "resolve: cannot start a resolver thread");
}

void Session::on_resolved(addrinfo *res, int gai_err, int sys_errno)
{
    Ref<Session> self = Ref<Session>::share(this);
    resolve_id_ = 0;
    if (gai_err) {
        std::string why = gai_err == EAI_SYSTEM ? strerror(sys_errno) : gai_strerror(gai_err);
        fail_attempt(PSSH_E_UNKNOWN_HOST, "resolve: " + st_->host + ": " + why, resolve_is_final(gai_err));
    } else {
        addrs_.clear();
        for (addrinfo *ai = res; ai; ai = ai->ai_next) {
            SockAddr a;
            if (ai->ai_addrlen > sizeof a.ss)
                continue;
            memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
            a.len = ai->ai_addrlen;
            addrs_.push_back(a);
        }
        freeaddrinfo(res);
        res = nullptr;
        next_addr_ = 0;
        try_next_address();
    }
    if (res)
        freeaddrinfo(res);
    run();
}

// The connect phase behind proxies: it ends when the last proxy has opened
// a channel to the host, so connect_ms is still the time to reach it.
void Session::open_tunnel()
{
    SET_STATE(State::Connecting);
    lost_.clear();
    std::string why;
    tunnel_id_ = loop_->tunnels().open(*st_, this, &why);
    if (!tunnel_id_)
        fail_attempt(PSSH_E_RESOURCE, "proxy: " + why);
}

void Session::on_tunnel_open(int fd)
{
    Ref<Session> self = Ref<Session>::share(this);
    fd_ = fd;
    token_ = loop_->reactor().add(fd_, 0, this);
    if (token_ == kNoToken) {
        int e = errno;
        fail_attempt(PSSH_E_RESOURCE, std::string("proxy: reactor: ") + strerror(e));
    } else {
        Nanos now = now_ns();
        connect_ms_ = ns_to_ms(now - t_attempt_);
        t_phase_ = now;
        begin_handshake();
    }
    run();
}

void Session::on_tunnel_failed(const Failure &f, bool final)
{
    Ref<Session> self = Ref<Session>::share(this);
    tunnel_id_ = 0; // the provider let go of it
    fail_attempt(PSSH_E_PROXY, f.msg, final);
    run();
}

// What the target sent before the proxy went stays readable: the read side
// ends here, libssh2 takes what is queued, and the transport error that
// follows fails the session with the proxy's reason.
void Session::on_tunnel_lost(const Failure &f)
{
    Ref<Session> self = Ref<Session>::share(this);
    if (state_ == State::Ready) {
        lost_.set(PSSH_E_PROXY, f.msg);
        if (fd_ >= 0)
            shutdown(fd_, SHUT_RD);
        kick();
    } else if (state_ == State::Handshake || state_ == State::AuthList || state_ == State::Auth) {
        fail_attempt(PSSH_E_PROXY, f.msg);
    }
    run();
}

void Session::try_next_address()
{
    while (next_addr_ < addrs_.size()) {
        const SockAddr &a = addrs_[next_addr_++];
        bool in_progress = false;
        int fd = start_connect(a, &in_progress);
        if (fd < 0) {
            last_errno_ = -fd;
            if (last_errno_ == EMFILE || last_errno_ == ENFILE)
                return fail_attempt(PSSH_E_RESOURCE, std::string("connect: socket: ") + strerror(last_errno_));
            continue;
        }
        fd_ = fd;
        token_ = loop_->reactor().add(fd_, in_progress ? unsigned(EV_WRITE) : 0u, this);
        if (token_ == kNoToken) {
            int e = errno;
            close(fd_);
            fd_ = -1;
            return fail_attempt(PSSH_E_RESOURCE, std::string("connect: reactor: ") + strerror(e));
        }
        if (in_progress) {
            SET_STATE(State::Connecting);
            return;
        }
        return connect_done();
    }
    std::string where = addrs_.empty() ? st_->host : addr_to_string(addrs_.back());
    fail_attempt(last_errno_ == ECONNREFUSED ? PSSH_E_REFUSED : PSSH_E_CONNECT,
                 "connect: " + where + " port " + std::to_string(st_->port) + ": " +
                     strerror(last_errno_ ? last_errno_ : EHOSTUNREACH));
}

void Session::connect_done()
{
    if (int err = finish_connect(fd_); err < 0) {
        last_errno_ = -err;
        loop_->reactor().remove(token_);
        token_ = kNoToken;
        close(fd_);
        fd_ = -1;
        return try_next_address();
    }
    Nanos now = now_ns();
    connect_ms_ = ns_to_ms(now - t_attempt_);
    t_phase_ = now;
    begin_handshake();
}

void Session::begin_handshake()
{
    // The abstract pointer leads libssh2's callbacks (receive, keyboard-
    // interactive) back to this session.
    ssh_ = libssh2_session_init_ex(wiping_alloc, wiping_free, wiping_realloc, this);
    if (!ssh_)
        return fail_attempt(PSSH_E_NOMEM, "handshake: cannot allocate a libssh2 session");
    libssh2_session_callback_set(ssh_, LIBSSH2_CALLBACK_RECV, reinterpret_cast<void *>(&Session::counting_recv));
    rx_.reset(st_->cfg.timeout_ms > 0 ? t_attempt_ + ms_to_ns(st_->cfg.timeout_ms) : kNever);
    libssh2_session_set_blocking(ssh_, 0);
    if (st_->cfg.compress)
        libssh2_session_flag(ssh_, LIBSSH2_FLAG_COMPRESS, 1);
    hostkey_.prefer_known_types(*loop_, *st_, ssh_);
    SET_STATE(State::Handshake);
    advance();
}

// The connection ladder. Each rung repeats its libssh2 call with the same
// arguments until it stops saying EAGAIN.
void Session::advance()
{
    for (;;) {
        switch (state_) {
        case State::Handshake: {
            int rc = libssh2_session_handshake(ssh_, fd_);
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return;
            if (rc && rx_.banner_flood())
                return fail_attempt(PSSH_E_SESSION,
                                    "handshake: no SSH banner within " +
                                        std::to_string(RecvGuard::kMaxPreBannerLines) + " lines of " +
                                        std::to_string(RecvGuard::kMaxBannerLine) +
                                        " bytes at most (is it an SSH server?)");
            if (rc)
                return fail_attempt(PSSH_E_SESSION, "handshake: " + handshake_cause(rc, ssh_));
            if (Failure f = hostkey_.check(*loop_, *st_, ssh_))
                return fail_attempt(f.code, f.msg);
            Nanos now = now_ns();
            handshake_ms_ = ns_to_ms(now - t_phase_);
            t_phase_ = now;
            SET_STATE(State::AuthList);
            break;
        }
        case State::AuthList: {
            const std::string &u = st_->user;
            const char *list = libssh2_userauth_list(ssh_, u.data(), unsigned(u.size()));
            if (!list) {
                if (libssh2_userauth_authenticated(ssh_))
                    return become_ready(); // the server took "none"
                if (libssh2_session_last_errno(ssh_) == LIBSSH2_ERROR_EAGAIN)
                    return;
                return fail_attempt(PSSH_E_LOST, "auth: connection failed asking for methods: " +
                                                     libssh2_message(ssh_));
            }
            auth_.begin(list);
            SET_STATE(State::Auth);
            break;
        }
        case State::Auth: {
            Failure f;
            switch (auth_.step(ssh_, *st_, &f)) {
            case Authenticator::Result::Again:
                return;
            case Authenticator::Result::Done:
                return become_ready();
            case Authenticator::Result::Failed:
                if (auth_.wants_rsa_sha1_reconnect())
                    return reconnect_for_ssh_rsa(f.msg);
                return fail_attempt(f.code, f.msg);
            }
            return;
        }
        default:
            return;
        }
    }
}

void Session::become_ready()
{
    Nanos now = now_ns();
    auth_ms_ = ns_to_ms(now - t_phase_);
    loop_->reactor().cancel(deadline_);
    auth_.reset(); // key material and agent are not needed any more
    rx_.set_established(true);
    SET_STATE(State::Ready);
    hold(false);
    if (st_->cfg.keepalive_s > 0) {
        // want_reply=0: libssh2 1.10 keeps every reply until the session is
        // freed (127 bytes per keepalive, measured).
        libssh2_keepalive_config(ssh_, 0, unsigned(st_->cfg.keepalive_s));
        loop_->reactor().arm(keepalive_, now + ms_to_ns(int64_t(st_->cfg.keepalive_s) * 1000));
    }
    loop_->log(PSSH_LOG_DEBUG, "%s: connected and authenticated in %.1f ms", st_->display.c_str(),
               ns_to_ms(now - t_attempt_));
    wake_all(); // the channels waiting for the connection
    settled();
}

void Session::fail_attempt(pssh_err code, const std::string &msg, bool final)
{
    loop_->reactor().cancel(deadline_);
    if (resolve_id_) {
        loop_->resolver().cancel(resolve_id_);
        resolve_id_ = 0;
    }
    close_transport();
    addrs_.clear();
    loop_->log(PSSH_LOG_DEBUG, "%s: attempt %d failed: %s", st_->display.c_str(), attempt_, msg.c_str());
    if (!final && retryable_failure(code) && attempt_ <= st_->cfg.retries) {
        fail_.set(code, st_->display + ": " + msg);
        SET_STATE(State::RetryWait);
        loop_->reactor().arm(retry_, now_ns() + ms_to_ns(st_->cfg.retry_delay_ms));
        return;
    }
    std::string tail = attempt_ > 1 ? " (after " + std::to_string(attempt_) + " attempts)" : "";
    fail_.set(code, st_->display + ": " + msg + tail);
    auth_.reset();
    SET_STATE(State::Failed);
    hold(false);
    wake_all(); // the channels waiting for the connection fail with it
    settled();
}

// The server hung up on an RSA key offered as rsa-sha2-512 (Go's
// x/crypto/ssh cannot parse that request): connect again at once, RSA keys
// going straight to ssh-rsa. Not a retry: it does not use the retry budget
// or wait the retry delay, and it happens once per session at most.
void Session::reconnect_for_ssh_rsa(const std::string &why)
{
    loop_->log(PSSH_LOG_INFO, "%s: %s; connecting again to offer RSA keys as ssh-rsa", st_->display.c_str(),
               why.c_str());
    loop_->reactor().cancel(deadline_);
    close_transport();
    addrs_.clear();
    auth_.set_rsa_sha1_first(true);
    attempt_--; // begin_attempt counts it again
    SET_STATE(State::RetryWait);
    loop_->reactor().arm(retry_, now_ns());
}

// Never blocks: after shutdown() every libssh2 send or receive fails at
// once, so session_free cannot wait on the peer. The fd is closed only after
// libssh2 has let go of it, so its number cannot be reused under libssh2.
void Session::close_transport() noexcept
{
    if (token_ != kNoToken) {
        loop_->reactor().remove(token_);
        token_ = kNoToken;
    }
    if (tunnel_id_) // our end (fd_) is closed below, as a socket's would be
        loop_->tunnels().close(std::exchange(tunnel_id_, 0));
    auth_.reset();
    orphans_.clear(); // freed with the session
    orphan_open_ = false;
    opening_ = nullptr;
    if (ssh_) {
        if (state_ == State::Ready)
            libssh2_session_disconnect(ssh_, "closed by libpssh");
        if (fd_ >= 0)
            shutdown(fd_, SHUT_RDWR);
        rx_.close();
    }
    // Background cleanups hold no reference to us: they end here, freeing
    // what libssh2 keeps for them while every send fails at once.
    for (Channel *c = channels_.front(); c;) {
        Channel *next = channels_.next(c);
        c->transport_closing();
        c = next;
    }
    if (ssh_) {
        int rc = LIBSSH2_ERROR_EAGAIN;
        for (int i = 0; i < kFreeTries && rc == LIBSSH2_ERROR_EAGAIN; i++)
            rc = libssh2_session_free(ssh_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            loop_->log(PSSH_LOG_ERROR, "%s: libssh2_session_free kept returning EAGAIN; leaked",
                       st_->display.c_str());
        ssh_ = nullptr;
    }
    if (fd_ >= 0) {
        close(fd_);
        fd_ = -1;
    }
}

void Session::mark_dead(const std::string &why)
{
    if (over())
        return;
    if (lost_) // the proxy under us said why
        fail_.set(lost_.code, st_->display + ": " + lost_.msg);
    else
        fail_.set(PSSH_E_LOST, st_->display + ": " + why);
    SET_STATE(State::Dead);
    hold(false);
    loop_->reactor().cancel(keepalive_);
    if (token_ != kNoToken) { // keep fd and libssh2 until the last holder goes
        loop_->reactor().remove(token_);
        token_ = kNoToken;
    }
    if (fd_ >= 0)
        shutdown(fd_, SHUT_RDWR);
    wake_all(); // every channel on it is over
}

void Session::on_deadline(void *p)
{
    auto *self = static_cast<Session *>(p);
    Ref<Session> keep = Ref<Session>::share(self);
    std::string msg = "timeout: no progress within " + std::to_string(self->st_->cfg.timeout_ms) +
                      " ms while " + phase_name(self->state_);
    if (self->tunnel_id_ && self->state_ == State::Connecting) // still on the way to the host
        self->fail_attempt(PSSH_E_PROXY, "timeout: no progress within " +
                                             std::to_string(self->st_->cfg.timeout_ms) + " ms while " +
                                             self->loop_->tunnels().pending(self->tunnel_id_));
    else
        self->fail_attempt(PSSH_E_TIMEOUT, msg);
    self->run();
}

void Session::on_retry(void *p)
{
    auto *self = static_cast<Session *>(p);
    Ref<Session> keep = Ref<Session>::share(self);
    self->begin_attempt();
    self->run();
}

void Session::on_keepalive(void *p)
{
    auto *self = static_cast<Session *>(p);
    if (self->state_ != State::Ready)
        return;
    Ref<Session> keep = Ref<Session>::share(self);
    Reactor &r = self->loop_->reactor();
    // A packet half sent by a flow must finish first: libssh2 allows one
    // outgoing packet in flight.
    if (libssh2_session_block_directions(self->ssh_) & LIBSSH2_SESSION_BLOCK_OUTBOUND) {
        r.arm(self->keepalive_, now_ns() + ms_to_ns(1000));
        return;
    }
    int next = 0;
    int rc = libssh2_keepalive_send(self->ssh_, &next);
    if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN) {
        self->mark_dead("keepalive: connection lost: " + libssh2_message(self->ssh_));
        self->run();
        return;
    }
    if (next <= 0)
        next = self->st_->cfg.keepalive_s;
    r.arm(self->keepalive_, now_ns() + ms_to_ns(int64_t(next) * 1000));
}

void Session::on_kick(void *p)
{
    auto *self = static_cast<Session *>(p);
    Ref<Session> keep = Ref<Session>::share(self);
    self->run();
}

void Session::on_io(unsigned events)
{
    Ref<Session> self = Ref<Session>::share(this);
    if (user_waiting_)
        user_ready_ = true;
    if (events & EV_READ)
        io_in_ = true;
    if (state_ == State::Connecting) {
        connect_done();
    } else if (state_ == State::Ready) {
        watch_idle(events);
    }
    run();
}

bool Session::socket_alive() const noexcept
{
    if (fd_ < 0 || over())
        return false;
    char c;
    ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

// An idle connection keeps reading armed to notice a close by the server.
// Bytes that are not EOF belong to libssh2 (a keepalive, a global request):
// they stay in the socket for the next operation, and reading is disarmed.
void Session::watch_idle(unsigned events)
{
    if (!(events & EV_READ) || !channels_.empty() || !orphans_.empty() || user_waiting_)
        return;
    char c;
    if (!socket_alive())
        mark_dead("connection closed by the server while idle");
    else if (recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
        idle_data_ = true;
}

void Session::run()
{
    if (running_)
        return;
    Ref<Session> self = Ref<Session>::share(this);
    running_ = true;
    rx_.new_turn();
    bool blocked = false;
    if (state_ == State::Handshake || state_ == State::AuthList || state_ == State::Auth)
        advance();
    for (int pass = 0;; pass++) {
        const uint64_t rx = rx_.total();
        blocked = state_ == State::Ready && step_orphans();
        blocked |= step_flows();
        if (state_ == State::Ready && rx_.end_held() && !reader_holds_back()) {
            // Every flow has taken what libssh2 had queued: now libssh2 may
            // see the socket's end, and the next pass fails the flows.
            rx_.release_end();
            wake_all();
            if (user_waiting_)
                user_ready_ = true;
            continue;
        }
        if (rx_.total() == rx || state_ != State::Ready)
            break; // every flow has seen all that arrived
        if (user_waiting_)
            user_ready_ = true; // a raw libssh2 caller must look again too
        if (pass == kMaxPasses || rx_.turn_spent()) {
            kick(); // a busy session must not starve the others
            break;
        }
    }
    running_ = false;
    close_if_retired();
    update_interest(blocked);
}

void Session::retire() noexcept
{
    retire_ = true;
    kick(); // closed from run(), never from under a flow's libssh2 call
}

void Session::close_if_retired()
{
    if (!retire_ || state_ != State::Ready || !channels_.empty() || !orphans_.empty() || user_waiting_)
        return;
    loop_->reactor().cancel(keepalive_);
    close_transport();
    SET_STATE(State::Closed);
}

// A channel is stepped when it was woken, when its last step waited on a
// libssh2 call, or when it waits only for the peer and libssh2 has queued
// data or an EOF for it. The checks are cheap (they read libssh2's queue), so
// a session carrying many channels steps only those with something to do.
bool Session::due(Channel &c) const noexcept
{
    if (c.woken_ || c.last_ != Channel::Wait::Data)
        return c.woken_ || c.last_ == Channel::Wait::Libssh2;
    LIBSSH2_CHANNEL *h = c.handle();
    return !h || libssh2_poll_channel_read(h, 1) || libssh2_channel_eof(h);
}

bool Session::step_flows()
{
    if (channels_.empty())
        return false;
    idle_data_ = false;
    // Stepping can release channels (user callbacks): step a snapshot of
    // the due ones, each held.
    size_t base = scratch_.size();
    Channel *reader = nullptr; // one that waits for data, if the socket has some
    for (Channel *c = channels_.front(); c; c = channels_.next(c)) {
        if (due(*c))
            scratch_.push_back(Ref<Channel>::share(c));
        else if (!reader && c->last_ == Channel::Wait::Data)
            reader = c;
    }
    // New bytes on the socket and nobody due to read them: one channel's
    // read pulls them into libssh2's queue, then the others are polled.
    if (io_in_ && scratch_.size() == base && reader)
        scratch_.push_back(Ref<Channel>::share(reader));
    io_in_ = false;
    bool blocked = false;
    for (size_t i = base; i < scratch_.size(); i++) {
        Channel &c = *scratch_[i];
        c.woken_ = false;
        c.last_ = c.step();
    }
    scratch_.resize(base);
    for (Channel *c = channels_.front(); c && !blocked; c = channels_.next(c))
        blocked = c->last_ != Channel::Wait::None;
    return blocked;
}

void Session::wake_all() noexcept
{
    for (Channel *c = channels_.front(); c; c = channels_.next(c))
        c->woken_ = true;
    kick();
}

void Session::wake_next_opener() noexcept
{
    if (Channel *c = open_waiters_.pop_front())
        wake(c);
}

bool Session::reader_holds_back() const noexcept
{
    for (const Channel *c = channels_.front(); c; c = channels_.next(c))
        if (c->waits_for_reader())
            return true;
    return false;
}

bool Session::step_orphans()
{
    bool blocked = false;
    if (orphan_open_) {
        LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(ssh_);
        if (!ch && libssh2_session_last_errno(ssh_) == LIBSSH2_ERROR_EAGAIN) {
            blocked = true;
        } else {
            orphan_open_ = false;
            if (ch)
                orphans_.push_back(Orphan{ch, false});
            wake_next_opener();
        }
    }
    for (size_t i = 0; i < orphans_.size();) {
        Orphan &z = orphans_[i];
        if (!z.closed) {
            int rc = libssh2_channel_close(z.ch);
            if (rc == LIBSSH2_ERROR_EAGAIN) {
                blocked = true;
                i++;
                continue;
            }
            z.closed = true;
        }
        if (libssh2_channel_free(z.ch) == LIBSSH2_ERROR_EAGAIN) {
            blocked = true;
            i++;
            continue;
        }
        orphans_[i] = orphans_.back();
        orphans_.pop_back();
    }
    return blocked;
}

unsigned Session::blocked_events() const
{
    int d = ssh_ ? libssh2_session_block_directions(ssh_) : 0;
    unsigned ev = (d & LIBSSH2_SESSION_BLOCK_INBOUND ? unsigned(EV_READ) : 0u) |
                  (d & LIBSSH2_SESSION_BLOCK_OUTBOUND ? unsigned(EV_WRITE) : 0u);
    return ev ? ev : unsigned(EV_READ); // never zero interest while blocked
}

void Session::update_interest(bool flows_blocked)
{
    if (token_ == kNoToken)
        return;
    unsigned want = 0;
    switch (state_) {
    case State::Connecting:
        want = EV_WRITE;
        break;
    case State::Handshake:
    case State::AuthList:
    case State::Auth:
        want = blocked_events();
        break;
    case State::Ready:
        if (rx_.end_held())
            want = 0; // the socket is at its end: readers resume the flows
        else if (flows_blocked || user_waiting_)
            want = blocked_events();
        else if (channels_.empty() && orphans_.empty() && !idle_data_)
            want = EV_READ;
        break;
    default:
        break;
    }
    loop_->reactor().watch(token_, want);
}

void Session::attach(Channel *c)
{
    channels_.push_back(c);
    c->woken_ = true;
    if (state_ == State::Idle)
        start();
    kick();
}

void Session::detach(Channel *c) noexcept
{
    List<Channel, SessionChannelsTag>::remove(c);
    List<Channel, OpenWaitersTag>::remove(c);
    if (opening_ == c) {
        opening_ = nullptr;
        wake_next_opener();
    }
}

// A channel that cannot open now waits in line and is woken in its turn.
bool Session::acquire_open(Channel *c) noexcept
{
    if (orphan_open_ || (opening_ && opening_ != c)) {
        if (!List<Channel, OpenWaitersTag>::contains_node(c))
            open_waiters_.push_back(c);
        return false;
    }
    List<Channel, OpenWaitersTag>::remove(c);
    opening_ = c;
    return true;
}

void Session::release_open(Channel *c) noexcept
{
    if (opening_ != c)
        return;
    opening_ = nullptr;
    wake_next_opener();
}

void Session::orphan_open(Channel *c) noexcept
{
    if (opening_ != c)
        return;
    opening_ = nullptr;
    if (ssh_ && !over()) {
        orphan_open_ = true;
        kick();
    } else {
        wake_next_opener();
    }
}

void Session::wake(Channel *c) noexcept
{
    c->woken_ = true;
    kick();
}

void Session::adopt_channel(_LIBSSH2_CHANNEL *ch)
{
    if (!ch || !ssh_ || over())
        return; // freed with the session
    orphans_.push_back(Orphan{ch, false});
    kick();
}

void Session::user_wait_begin() noexcept
{
    user_waiting_ = true;
    user_ready_ = false;
    update_interest(true);
}

void Session::user_wait_end() noexcept
{
    user_waiting_ = false;
    kick();
}

} // namespace pssh
