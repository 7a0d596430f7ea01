#include "output.hpp"

#include <algorithm>
#include <cstring>
#include <libssh2.h>

namespace pssh {

#define SET_STATE(s) set_state((s), __LINE__)

namespace {

constexpr size_t kReadChunk = 32 * 1024; // bounds libssh2's window growth per read

const char *state_name(Output::State s)
{
    static const char *names[] = {"pooled",  "queued",  "opening", "pty",   "env",
                                  "exec",    "running", "closing", "done",  "failed"};
    return names[int(s)];
}

// libssh2 errors that mean the connection itself is gone.
bool transport_error(long rc)
{
    switch (rc) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_INVALID_MAC:
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_BAD_SOCKET:
    case LIBSSH2_ERROR_ENCRYPT:
    case LIBSSH2_ERROR_COMPRESS:
    case LIBSSH2_ERROR_ZLIB:
        return true;
    }
    return false;
}

} // namespace

Ref<Output> Output::create(Ref<Session> s, CommandSpec spec, Sink *sink, size_t tag, Ref<Pool> pool)
{
    auto *o = new Output(std::move(s), std::move(spec));
    Ref<Output> r = Ref<Output>::adopt(o);
    o->sink_ = sink;
    o->tag_ = tag;
    o->hold(true);
    if (pool) {
        o->state_ = State::Pooled;
        o->join_pool(std::move(pool)); // may admit it at once
    } else {
        o->session_->attach(o);
    }
    return r;
}

void Output::admit()
{
    if (state_ != State::Pooled)
        return;
    SET_STATE(State::Queued);
    t_created_ = now_ns();
    session_->attach(this);
}

void Output::set_discard(bool on)
{
    discard_ = on;
    if (on && held_) {
        set_held(false);
        session_->wake(this);
    }
}

void Output::set_held(bool held)
{
    if (held == held_)
        return;
    held_ = held;
    if (sink_)
        sink_->on_held(*this, held);
}

Output::Output(Ref<Session> s, CommandSpec spec) : session_(std::move(s)), spec_(std::move(spec))
{
    for (auto &b : bufs_)
        b.set_limit(spec_.buffer_limit);
    t_created_ = now_ns();
}

// Releasing a running command closes its channel in the background; one
// released mid-open is finished by the session and then closed.
Output::~Output()
{
    magic = 0;
    session_->loop().reactor().cancel(timer_);
    if (state_ == State::Opening)
        session_->orphan_open(this);
    else
        session_->release_open(this);
    if (ch_)
        session_->adopt_channel(ch_);
    session_->detach(this);
    hold(false);
}

void Output::set_state(State s, int line)
{
    Loop &l = session_->loop();
    if (l.logs(PSSH_LOG_TRACE))
        l.log(PSSH_LOG_TRACE, "%s: command %s -> %s (output.cpp:%d)",
              session_->settings().display.c_str(), state_name(state_), state_name(s), line);
    state_ = s;
}

void Output::hold(bool on) noexcept
{
    if (on == holding_)
        return;
    holding_ = on;
    Reactor &r = session_->loop().reactor();
    on ? r.hold() : r.release();
}

void Output::start_timer(int ms)
{
    Reactor &r = session_->loop().reactor();
    r.cancel(timer_);
    if (ms > 0)
        r.arm(timer_, now_ns() + ms_to_ns(ms));
}

void Output::on_timer(void *p)
{
    auto *self = static_cast<Output *>(p);
    Ref<Output> keep = Ref<Output>::share(self);
    const std::string &host = self->session_->settings().display;
    if (self->started())
        self->fail(PSSH_E_TIMEOUT, host + ": command: timeout: still running after " +
                                       std::to_string(self->spec_.timeout_ms) + " ms");
    else
        self->fail(PSSH_E_TIMEOUT, host + ": channel: timeout: no channel within " +
                                       std::to_string(self->session_->settings().cfg.timeout_ms) + " ms");
    self->session_->wake(self);
}

void Output::fail(pssh_err code, const std::string &msg)
{
    if (finished())
        return;
    fail_.set(code, msg);
    stop(State::Failed);
}

void Output::close()
{
    if (finished())
        return;
    if (!started())
        return fail(PSSH_E_STATE, session_->settings().display + ": command: closed by the caller before it started");
    stop(State::Done);
}

// Over from outside, whatever it was doing: the channel (or its pending
// open) goes to the session to close, the rest stays readable.
void Output::stop(State end)
{
    session_->loop().reactor().cancel(timer_);
    if (state_ == State::Opening)
        session_->orphan_open(this);
    else
        session_->release_open(this);
    if (ch_) {
        session_->adopt_channel(ch_);
        ch_ = nullptr;
    }
    if (t_run_ && run_ms_ < 0)
        run_ms_ = ns_to_ms(now_ns() - t_run_);
    SET_STATE(end);
    leave_queue(); // a pooled output failed from outside never starts
    leave_slot();
    session_->detach(this);
    hold(false);
    // Output already buffered stays readable; a partial last line too.
    if (streaming())
        for (int s = 0; s < 2; s++)
            deliver(s);
    set_held(false);
    if (sink_)
        sink_->on_done(*this);
}

// libssh2 1.10's _libssh2_packet_require(v) returns -1 ("no packet
// available yet") when a read completes without the awaited reply: a
// spurious LIBSSH2_ERROR_SOCKET_NONE on a live connection, seen under heavy
// load. Only a socket that is really gone makes -1 a lost connection.
bool Output::spurious(long rc)
{
    if (rc != LIBSSH2_ERROR_SOCKET_NONE || spurious_ >= kMaxSpurious || !session_->socket_alive())
        return false;
    spurious_++;
    session_->loop().log(PSSH_LOG_DEBUG, "%s: libssh2 said -1 on a live connection (%s): going on",
                         session_->settings().display.c_str(), libssh2_message(session_->raw()).c_str());
    return true;
}

Channel::Wait Output::fail_io(long rc, const char *what, pssh_err refused)
{
    Session &s = *session_;
    std::string why = libssh2_message(s.raw()) + " (libssh2 error " + std::to_string(rc) + ")";
    if (transport_error(rc)) {
        s.mark_dead(std::string("connection lost while ") + what + ": " + why);
        fail(s.failure() ? s.failure().code : PSSH_E_LOST, s.failure().msg); // PSSH_E_PROXY behind a proxy
    } else {
        fail(refused, s.settings().display + ": " + what + ": " + why);
    }
    return Wait::None;
}

Channel::Wait Output::step()
{
    Session &s = *session_;
    for (;;) {
        switch (state_) {
        case State::Pooled:
            return Wait::None;
        case State::Queued:
            if (s.over()) {
                fail(s.failure().code, s.failure().msg);
                return Wait::None;
            }
            if (!s.ready() || !s.acquire_open(this))
                return Wait::None;
            t_exec_ = now_ns();
            start_timer(s.settings().cfg.timeout_ms); // channel open + exec deadline
            SET_STATE(State::Opening);
            break;
        case State::Opening:
            ch_ = libssh2_channel_open_session(s.raw());
            if (!ch_) {
                int e = libssh2_session_last_errno(s.raw());
                if (e == LIBSSH2_ERROR_EAGAIN)
                    return Wait::Libssh2;
                if (spurious(e))
                    return Wait::Libssh2; // libssh2 dropped that open: the next step opens again
                s.release_open(this);
                return fail_io(e, "opening a channel");
            }
            s.release_open(this);
            SET_STATE(spec_.use_pty ? State::Pty : State::Env);
            break;
        case State::Pty: {
            int rc = libssh2_channel_request_pty(ch_, "xterm");
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (rc && !spurious(rc)) // spurious: the request went out; its reply is moot
                return fail_io(rc, "requesting a pty");
            SET_STATE(State::Env);
            break;
        }
        case State::Env:
            while (env_idx_ < spec_.env.size()) {
                const std::string &kv = spec_.env[env_idx_];
                size_t eq = kv.find('=');
                std::string name = kv.substr(0, eq);
                std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
                int rc = libssh2_channel_setenv_ex(ch_, name.c_str(), unsigned(name.size()),
                                                   value.c_str(), unsigned(value.size()));
                if (rc == LIBSSH2_ERROR_EAGAIN)
                    return Wait::Libssh2;
                if (rc && transport_error(rc) && !spurious(rc))
                    return fail_io(rc, "setting the environment");
                if (rc)
                    s.loop().log(PSSH_LOG_WARN, "%s: server refused env %s (its AcceptEnv)",
                                 s.settings().display.c_str(), name.c_str());
                env_idx_++;
            }
            SET_STATE(State::Exec);
            break;
        case State::Exec: {
            int rc = spec_.shell ? libssh2_channel_shell(ch_) : libssh2_channel_exec(ch_, spec_.command.c_str());
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (rc && !spurious(rc)) { // spurious: the request was sent; the output will tell
                if (spec_.shell)
                    return fail_io(rc, "starting a shell (refused by the server?)", PSSH_E_SHELL);
                return fail_io(rc, "starting the command");
            }
            t_run_ = now_ns();
            exec_ms_ = ns_to_ms(t_run_ - t_exec_);
            start_timer(spec_.timeout_ms);
            SET_STATE(State::Running);
            leave_slot();
            if (sink_)
                sink_->on_started(*this);
            break;
        }
        case State::Running:
            return pump();
        case State::Closing:
            return finish();
        case State::Done:
        case State::Failed:
            return Wait::None;
        }
    }
}

bool Output::write_pending(bool *failed)
{
    while (pending_off_ < pending_.size()) {
        ssize_t n = libssh2_channel_write(ch_, pending_.data() + pending_off_, pending_.size() - pending_off_);
        if (n == LIBSSH2_ERROR_EAGAIN)
            return true;
        if (n < 0) {
            if (transport_error(n)) {
                *failed = true;
                fail_io(n, "writing stdin");
                return false;
            }
            write_err_ = n; // the command stopped reading: not fatal
            pending_.clear();
            pending_off_ = 0;
            return false;
        }
        pending_off_ += size_t(n);
        stdin_sent_ += uint64_t(n);
    }
    pending_.clear();
    pending_off_ = 0;
    if (eof_pending_) {
        int rc = libssh2_channel_send_eof(ch_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return true;
        if (rc && transport_error(rc)) {
            *failed = true;
            fail_io(rc, "closing stdin");
            return false;
        }
        eof_pending_ = false;
        eof_sent_ = true;
    }
    return false;
}

// Drains both streams (they share one window) until libssh2 has nothing
// more or a buffer is full.
bool Output::read_streams(bool *failed)
{
    bool blocked = false;
    for (bool progress = true; progress;) {
        progress = false;
        for (int s = 0; s < 2; s++) {
            if (eof_[s])
                continue;
            StreamBuf &b = bufs_[s];
            if (discard_)
                b.drop();
            size_t avail = 0;
            char *p = b.write_ptr(kReadChunk, &avail);
            if (!p) {
                // Full: the window holds the host back. Not full: a line the
                // caller still borrows blocks the room; its next read frees it.
                if (b.full())
                    set_held(true);
                else
                    starved_[s] = true;
                continue;
            }
            ssize_t n = libssh2_channel_read_ex(ch_, s, p, avail);
            if (n > 0) {
                b.commit(size_t(n));
                if (streaming())
                    deliver(s);
                if (finished()) { // a line callback closed the command
                    *failed = true;
                    return false;
                }
                progress = true;
            } else if (n == 0) {
                if (libssh2_channel_eof(ch_)) {
                    eof_[s] = true;
                    if (streaming())
                        deliver(s);
                    if (finished()) {
                        *failed = true;
                        return false;
                    }
                } else {
                    blocked = true;
                }
            } else if (n == LIBSSH2_ERROR_EAGAIN) {
                blocked = true;
            } else {
                *failed = true;
                fail_io(n, "reading output");
                return false;
            }
        }
    }
    return blocked;
}

Channel::Wait Output::pump()
{
    bool failed = false;
    bool writing = write_pending(&failed);
    if (failed)
        return Wait::None;
    bool reading = read_streams(&failed);
    if (failed)
        return Wait::None;
    if (eof_[0] && eof_[1]) {
        SET_STATE(State::Closing);
        return finish();
    }
    // Only waiting for the peer's data: the session may just poll us.
    if (writing)
        return Wait::Libssh2;
    return reading ? Wait::Data : Wait::None;
}

// After EOF: close, then read the exit status (only valid once the channel
// is closed: parallel-ssh issue #424).
Channel::Wait Output::finish()
{
    int rc = libssh2_channel_close(ch_);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return Wait::Libssh2;
    if (rc)
        return fail_io(rc, "closing the channel");
    char *sig = nullptr;
    size_t siglen = 0;
    libssh2_channel_get_exit_signal(ch_, &sig, &siglen, nullptr, nullptr, nullptr, nullptr);
    if (sig) {
        size_t n = siglen < sizeof signal_ - 1 ? siglen : sizeof signal_ - 1;
        memcpy(signal_, sig, n);
        signal_[n] = 0;
        libssh2_free(session_->raw(), sig);
    }
    exit_status_ = libssh2_channel_get_exit_status(ch_);
    has_exit_ = true;
    if (libssh2_channel_free(ch_) == LIBSSH2_ERROR_EAGAIN)
        session_->adopt_channel(ch_);
    ch_ = nullptr;
    run_ms_ = ns_to_ms(now_ns() - t_run_);
    session_->loop().reactor().cancel(timer_);
    SET_STATE(State::Done);
    session_->detach(this);
    hold(false);
    set_held(false);
    if (sink_)
        sink_->on_done(*this);
    return Wait::None;
}

void Output::deliver(int s)
{
    StreamBuf &b = bufs_[s];
    const char *line;
    size_t len;
    // The sink may go away during a call (its owner released there).
    while (streaming() && b.take_raw_line(stream_over(s), &line, &len)) {
        sink_->on_line(*this, pssh_stream(s), line, len);
        b.borrow_end();
    }
}

Nanos Output::read_deadline(int timeout_ms) const noexcept
{
    if (timeout_ms >= 0)
        return deadline_after_ms(timeout_ms);
    return spec_.read_timeout_ms > 0 ? deadline_after_ms(spec_.read_timeout_ms) : kNever;
}

void Output::end_borrow(int s) noexcept
{
    bufs_[s].borrow_end();
    if (starved_[s]) {
        starved_[s] = false;
        if (!finished())
            session_->wake(this);
    }
}

void Output::resume_if_full(int s, bool was_full) noexcept
{
    if (was_full && !bufs_[s].full() && !finished()) {
        set_held(bufs_[1 - s].full());
        session_->wake(this); // reading resumes from what libssh2 already holds
    }
}

pssh_err Output::wait_started()
{
    Ref<Output> self = Ref<Output>::share(this);
    pssh_err rc = session_->loop().run_until([this] { return started() || finished(); }, kNever);
    if (rc != PSSH_OK)
        return rc;
    return started() ? PSSH_OK : fail_.code;
}

// The end of a stream is reported once the command is over (finished()),
// not at the stream's EOF: by then its exit status or signal is known, so a
// caller that reads both streams to the end needs no wait.
pssh_err Output::end_of_stream() const noexcept { return fail_ ? fail_.code : PSSH_EOF; }

// Blocking readers hold the output (and through it the session and the
// loop): a callback run meanwhile may release the caller's handle.
pssh_err Output::read_line(pssh_stream st, const char **line, size_t *len, int timeout_ms)
{
    Ref<Output> self = Ref<Output>::share(this);
    int s = int(st);
    StreamBuf &b = bufs_[s];
    StreamBuf &other = bufs_[1 - s];
    end_borrow(s);
    Nanos deadline = read_deadline(timeout_ms);
    for (;;) {
        bool was_full = b.full();
        bool got = b.take_line(stream_over(s), line, len);
        resume_if_full(s, was_full); // even without a line: a cut line's ending may have gone
        if (got)
            return PSSH_OK;
        if (finished())
            return end_of_stream();
        // The streams share one window: with the other one full, this one
        // cannot move (nor the command end) until the caller reads the other.
        if (other.full())
            return PSSH_E_FULL;
        auto ready = [&] {
            bool was_full = b.full();
            bool line_ready = b.has_line(stream_over(s)); // may drop a cut line's ending
            resume_if_full(s, was_full);
            return line_ready || finished() || other.full();
        };
        pssh_err rc = session_->loop().wait_until(ready, deadline);
        if (rc != PSSH_OK && !b.has_line(stream_over(s)) && !finished())
            return rc;
    }
}

pssh_err Output::read(pssh_stream st, void *buf, size_t cap, size_t *n, int timeout_ms)
{
    Ref<Output> self = Ref<Output>::share(this);
    int s = int(st);
    StreamBuf &b = bufs_[s];
    StreamBuf &other = bufs_[1 - s];
    end_borrow(s);
    *n = 0;
    Nanos deadline = read_deadline(timeout_ms);
    for (;;) {
        if (!b.empty()) {
            bool was_full = b.full();
            *n = b.take(buf, cap);
            resume_if_full(s, was_full);
            return PSSH_OK;
        }
        if (finished())
            return end_of_stream();
        if (other.full())
            return PSSH_E_FULL;
        pssh_err rc = session_->loop().wait_until(
            [&] { return !b.empty() || finished() || other.full(); }, deadline);
        if (rc != PSSH_OK && b.empty() && !finished())
            return rc;
    }
}

pssh_err Output::write_stdin(const void *buf, size_t len, int timeout_ms, size_t *written)
{
    if (written)
        *written = 0;
    if (session_->loop().busy())
        return PSSH_E_BUSY;
    if (finished())
        return fail_ ? fail_.code : PSSH_E_STATE;
    if (stdin_closed_ || write_err_)
        return PSSH_E_STATE;
    Ref<Output> self = Ref<Output>::share(this);
    // Copied: after EAGAIN libssh2 may hold part of a packet already, and the
    // same bytes must be offered again at the same offset. What is not sent
    // by the deadline stays queued, in order, and is sent in the background.
    const uint64_t base = stdin_queued_;
    queue_stdin(static_cast<const char *>(buf), len);
    pssh_err rc = session_->loop().wait_until(
        [&] { return stdin_sent_ >= base + len || write_err_ || finished(); },
        deadline_after_ms(timeout_ms));
    if (written)
        *written = stdin_sent_ <= base ? 0 : size_t(std::min<uint64_t>(stdin_sent_ - base, len));
    if (write_err_)
        return PSSH_E_STATE;
    if (fail_)
        return fail_.code;
    if (stdin_sent_ < base + len && finished())
        return PSSH_E_STATE; // the command ended before taking it all
    return rc;
}

bool Output::queue_stdin(const char *p, size_t n)
{
    if (stdin_closed_ || write_err_ || finished())
        return false;
    pending_.append(p, n);
    stdin_queued_ += n;
    session_->wake(this);
    return true;
}

void Output::queue_eof() noexcept
{
    if (stdin_closed_ || finished())
        return;
    stdin_closed_ = true;
    eof_pending_ = true;
    session_->wake(this);
}

pssh_err Output::shell_run(const char *line, size_t len, int timeout_ms)
{
    if (!spec_.shell)
        return PSSH_E_SHELL;
    if (session_->loop().busy())
        return PSSH_E_BUSY;
    if (stdin_closed_ || write_err_ || finished())
        return PSSH_E_SHELL;
    std::string l(line, len);
    l.push_back('\n');
    pssh_err rc = write_stdin(l.data(), l.size(), timeout_ms, nullptr);
    return rc == PSSH_E_STATE ? PSSH_E_SHELL : rc;
}

pssh_err Output::close_stdin(int timeout_ms)
{
    if (session_->loop().busy())
        return PSSH_E_BUSY;
    if (finished())
        return fail_ ? fail_.code : PSSH_OK;
    Ref<Output> self = Ref<Output>::share(this);
    queue_eof();
    pssh_err rc = session_->loop().wait_until([&] { return eof_sent_ || finished(); },
                                              deadline_after_ms(timeout_ms));
    if (fail_)
        return fail_.code;
    return rc;
}

pssh_err Output::wait(int timeout_ms, bool discard)
{
    if (session_->loop().busy())
        return PSSH_E_BUSY;
    Ref<Output> self = Ref<Output>::share(this);
    bool was = discard_;
    if (discard)
        set_discard(true);
    auto stuck = [&] { return !discard_ && !streaming() && (bufs_[0].full() || bufs_[1].full()); };
    pssh_err rc = session_->loop().wait_until([&] { return finished() || stuck(); },
                                              deadline_after_ms(timeout_ms));
    discard_ = was;
    if (finished())
        return fail_ ? fail_.code : PSSH_OK;
    if (stuck())
        return PSSH_E_FULL;
    return rc;
}

int Output::exit_code() const noexcept
{
    return has_exit_ && !signal_[0] && !fail_ ? exit_status_ : -1;
}

void Output::timings(pssh_timings *t) const noexcept
{
    t->connect_ms = session_->connect_ms();
    t->handshake_ms = session_->handshake_ms();
    t->auth_ms = session_->auth_ms();
    t->exec_ms = exec_ms_;
    t->run_ms = run_ms_ >= 0 ? run_ms_ : (t_run_ ? ns_to_ms(now_ns() - t_run_) : -1);
}

} // namespace pssh
