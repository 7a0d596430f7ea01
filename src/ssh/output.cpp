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
    static const char *names[] = {"pooled", "queued", "setup", "running", "closing", "done", "failed"};
    return names[int(s)];
}

} // namespace

Output::Output(Ref<Session> s, const Limits &l) : session_(std::move(s)), limits_(l)
{
    for (auto &b : bufs_)
        b.set_limit(limits_.buffer_limit);
    t_created_ = now_ns();
}

void Output::enlist(Sink *sink, size_t tag, Ref<Pool> pool)
{
    sink_ = sink;
    tag_ = tag;
    hold(true);
    if (pool) {
        state_ = State::Pooled;
        join_pool(std::move(pool)); // may admit it at once
    } else {
        session_->attach(this);
    }
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

// Releasing a running job closes its channel in the background; one
// released mid-open is finished by the session and then closed.
Output::~Output()
{
    magic = 0;
    session_->loop().reactor().cancel(timer_);
    if (opening_)
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
        l.log(PSSH_LOG_TRACE, "%s: %s %s -> %s (line %d)", session_->settings().display.c_str(), kind(),
              state_name(state_), state_name(s), line);
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
        self->fail(PSSH_E_TIMEOUT, host + ": " + self->kind() + ": timeout: still running after " +
                                       std::to_string(self->limits_.run_timeout_ms) + " ms");
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
        return fail(PSSH_E_STATE,
                    session_->settings().display + ": " + kind() + ": closed by the caller before it started");
    stop(State::Done);
}

// Over from outside, whatever it was doing: the channel (or its pending
// open) goes to the session to close, the rest stays readable.
void Output::stop(State end)
{
    session_->loop().reactor().cancel(timer_);
    on_stop();
    if (opening_)
        session_->orphan_open(this);
    else
        session_->release_open(this);
    opening_ = false;
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

Channel::Wait Output::fail_io(long rc, const char *what, pssh_err code)
{
    Session &s = *session_;
    std::string why = libssh2_message(s.raw()) + " (libssh2 error " + std::to_string(rc) + ")";
    // libssh2 reports some losses under a channel's code (a subsystem request
    // on a closed socket: LIBSSH2_ERROR_CHANNEL_FAILURE): the socket decides.
    if (is_transport_error(rc) || !s.socket_alive()) {
        s.mark_dead(std::string("connection lost while ") + what + ": " + why);
        fail(s.failure() ? s.failure().code : PSSH_E_LOST, s.failure().msg); // PSSH_E_PROXY behind a proxy
    } else {
        fail(code, s.settings().display + ": " + what + ": " + why);
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
            t_setup_ = now_ns();
            start_timer(s.settings().cfg.timeout_ms); // setup deadline
            SET_STATE(State::Setup);
            break;
        case State::Setup:
        case State::Running:
        case State::Closing: {
            State was = state_;
            Wait w = was == State::Setup ? step_setup() : was == State::Running ? step_running() : step_closing();
            if (state_ == was || finished())
                return w;
            break; // the kind moved the ladder on: go on at once
        }
        case State::Done:
        case State::Failed:
            return Wait::None;
        }
    }
}

void Output::began()
{
    t_run_ = now_ns();
    setup_ms_ = ns_to_ms(t_run_ - t_setup_);
    start_timer(limits_.run_timeout_ms);
    SET_STATE(State::Running);
    leave_slot();
    if (sink_)
        sink_->on_started(*this);
}

Channel::Wait Output::complete()
{
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
                if (finished()) { // a line callback closed the job
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
    return limits_.read_timeout_ms > 0 ? deadline_after_ms(limits_.read_timeout_ms) : kNever;
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

// The end of a stream is reported once the job is over (finished()), not
// at the stream's EOF: by then its exit status or signal is known, so a
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
        // cannot move (nor the job end) until the caller reads the other.
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

pssh_err Output::write_stdin(const void *, size_t, int, size_t *written)
{
    if (written)
        *written = 0;
    if (session_->loop().busy())
        return PSSH_E_BUSY;
    return PSSH_E_STATE;
}

pssh_err Output::shell_run(const char *, size_t, int)
{
    return PSSH_E_SHELL;
}

pssh_err Output::close_stdin(int)
{
    if (session_->loop().busy())
        return PSSH_E_BUSY;
    return PSSH_E_STATE;
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
    t->exec_ms = setup_ms_;
    t->run_ms = run_ms_ >= 0 ? run_ms_ : (t_run_ ? ns_to_ms(now_ns() - t_run_) : -1);
}

void Output::transfer_stats(uint64_t *done, uint64_t *total, double *ms) const noexcept
{
    *done = *total = 0;
    *ms = -1;
}

} // namespace pssh
