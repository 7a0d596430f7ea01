// One SSH connection: socket + LIBSSH2_SESSION, and the ladder that gets it
// from nothing to authenticated (resolve, connect, handshake, host key,
// auth), with a deadline per attempt and retries.
//
// Held by its Client and by every channel made on it; the last holder's
// release closes it (disconnect, free, close: never blocking). The session
// steps the channels attached to it (channel.hpp) when its socket wakes up,
// since one fd serves all of them.
#pragma once
#include "../net/connect.hpp"
#include "../util/failure.hpp"
#include "../util/list.hpp"
#include "auth.hpp"
#include "channel.hpp"
#include "config.hpp"
#include "host_key_check.hpp"
#include "loop.hpp"
#include "recv_guard.hpp"
#include "tunnel.hpp"

#include <vector>

struct _LIBSSH2_SESSION;
struct _LIBSSH2_CHANNEL;

namespace pssh {


// Failures worth another attempt: the network or the server may recover.
bool retryable_failure(pssh_err code);

class Session final : public RefCounted, IoHandler, ResolveTarget, TunnelTarget {
public:
    enum class State { Idle, Resolving, Connecting, Handshake, AuthList, Auth, Ready, RetryWait, Failed, Dead, Closed };

    static Ref<Session> create(Loop &loop, Ref<Settings> st);
    // A session that failed before it began (e.g. a malformed host): its
    // outputs carry the failure like any other host's.
    static Ref<Session> create_failed(Loop &loop, Ref<Settings> st, pssh_err code, const std::string &msg);

    // Told once when the session is ready or has failed for good (the
    // parallel client's pool). Not a reference: the watcher outlives it or
    // clears itself.
    class Watcher {
    public:
        virtual void on_settled(Session &s) = 0;

    protected:
        ~Watcher() = default;
    };
    void set_watcher(Watcher *w) noexcept { watcher_ = w; }
    // The host index in a parallel client (0 otherwise).
    void set_tag(size_t t) noexcept { tag_ = t; }
    size_t tag() const noexcept { return tag_; }

    // Starts connecting (no-op unless Idle).
    void start();
    State state() const noexcept { return state_; }
    bool ready() const noexcept { return state_ == State::Ready; }
    // Failed (all attempts), Dead (dropped after it was ready) or Closed
    // (retired): final, a new connection is needed.
    bool over() const noexcept
    {
        return state_ == State::Failed || state_ == State::Dead || state_ == State::Closed;
    }
    // Not to be used again: the connection closes as soon as no channel
    // needs it (the outputs that hold the session stay readable).
    void retire() noexcept;
    // Connection attempts made so far (retries included).
    int attempts() const noexcept { return attempt_; }
    const Failure &failure() const noexcept { return fail_; }

    Loop &loop() const noexcept { return *loop_; }
    const Settings &settings() const noexcept { return *st_; }
    const std::string &password() const noexcept { return st_->cfg.password.value; }
    _LIBSSH2_SESSION *raw() const noexcept { return ssh_; }
    double connect_ms() const noexcept { return connect_ms_; }
    double handshake_ms() const noexcept { return handshake_ms_; }
    double auth_ms() const noexcept { return auth_ms_; }

    // Channels stepped by this session (attach connects if needed).
    void attach(Channel *c);
    void detach(Channel *c) noexcept;
    // Step this channel on the next loop turn (the caller freed room, queued
    // input, or a deadline passed).
    void wake(Channel *c) noexcept;
    // At most one channel open in flight per session (libssh2's open state
    // lives in the session).
    bool acquire_open(Channel *c) noexcept;
    void release_open(Channel *c) noexcept;
    // A channel let go of mid-open: the session finishes the open and
    // closes what it gets.
    void orphan_open(Channel *c) noexcept;
    // A channel nobody reads any more: closed and freed in the background.
    void adopt_channel(_LIBSSH2_CHANNEL *ch);
    // False once the peer closed the socket or it failed (peeks, no read).
    bool socket_alive() const noexcept;
    // The transport failed under a channel: every flow on it is over.
    void mark_dead(const std::string &why);
    // Step everything on the next loop turn (e.g. buffered data to deliver).
    void kick() noexcept { loop_->reactor().defer(kick_); }

    // For pssh_client_eagain: wait for the direction libssh2 last reported.
    void user_wait_begin() noexcept;
    bool user_wait_ready() const noexcept { return user_ready_; }
    void user_wait_end() noexcept;

private:
    Session(Loop &loop, Ref<Settings> st);
    ~Session() override;
    void last_unref() noexcept override;

    void on_io(unsigned events) override;
    void on_resolved(addrinfo *res, int gai_err, int sys_errno) override;
    // Behind proxies the connect phase is a tunnel (tunnel.hpp).
    void open_tunnel();
    void on_tunnel_open(int fd) override;
    void on_tunnel_failed(const Failure &f, bool final) override;
    void on_tunnel_lost(const Failure &f) override;
    static void on_deadline(void *self);
    static void on_retry(void *self);
    static void on_keepalive(void *self);
    static void on_kick(void *self);
    static ssize_t counting_recv(int fd, void *buf, size_t len, int flags, void **abstract);

    void begin_attempt();
    void try_next_address();
    void connect_done();
    void begin_handshake();
    void advance();
    void become_ready();
    // final: not worth another attempt, whatever the class.
    void fail_attempt(pssh_err code, const std::string &msg, bool final = false);
    void reconnect_for_ssh_rsa(const std::string &why);
    void close_transport() noexcept;
    void run();
    bool step_flows();
    bool due(Channel &c) const noexcept;
    void wake_all() noexcept;
    void wake_next_opener() noexcept;
    bool reader_holds_back() const noexcept;
    bool step_orphans();
    void watch_idle(unsigned events);
    void update_interest(bool flows_blocked);
    unsigned blocked_events() const;
    void set_state(State s, int line);
    void hold(bool on) noexcept;

    Ref<Loop> loop_;
    Ref<Settings> st_;
    State state_ = State::Idle;
    Failure fail_;
    int fd_ = -1;
    Token token_ = kNoToken;
    _LIBSSH2_SESSION *ssh_ = nullptr;
    std::vector<SockAddr> addrs_;
    size_t next_addr_ = 0;
    int last_errno_ = 0;
    uint64_t resolve_id_ = 0;
    uint64_t tunnel_id_ = 0;
    Failure lost_; // why the tunnel ended, if a proxy said so
    int attempt_ = 0;
    Authenticator auth_;
    HostKeyCheck hostkey_;
    Timer deadline_{&Session::on_deadline, this};
    Timer retry_{&Session::on_retry, this};
    Timer keepalive_{&Session::on_keepalive, this};
    Deferred kick_{&Session::on_kick, this};
    bool holding_ = false;
    Watcher *watcher_ = nullptr;
    size_t tag_ = 0;
    void settled();
    bool idle_data_ = false; // bytes arrived while idle: leave them to libssh2
    bool running_ = false;   // run() is on the stack
    bool retire_ = false;    // close once no channel needs the connection
    void close_if_retired();
    RecvGuard rx_;           // every byte libssh2 reads passes here
    bool user_waiting_ = false, user_ready_ = false;
    Nanos t_attempt_ = 0, t_phase_ = 0;
    double connect_ms_ = -1, handshake_ms_ = -1, auth_ms_ = -1;

    List<Channel, SessionChannelsTag> channels_;
    List<Channel, OpenWaitersTag> open_waiters_; // for the open slot, in order
    bool io_in_ = false; // the socket woke readable: someone must pull its bytes in
    std::vector<Ref<Channel>> scratch_; // channels being stepped (reused)
    Channel *opening_ = nullptr;
    bool orphan_open_ = false;
    struct Orphan {
        _LIBSSH2_CHANNEL *ch;
        bool closed;
    };
    std::vector<Orphan> orphans_;
};

const char *session_state_name(Session::State s);

} // namespace pssh
