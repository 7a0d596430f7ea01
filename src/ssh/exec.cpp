#include "exec.hpp"

#include <algorithm>
#include <cstring>
#include <libssh2.h>

namespace pssh {

#define SET_STATE(s) set_state((s), __LINE__)

Ref<Output> Exec::create(Ref<Session> s, CommandSpec spec, Sink *sink, size_t tag, Ref<Pool> pool)
{
    auto *e = new Exec(std::move(s), std::move(spec));
    Ref<Output> r = Ref<Output>::adopt(e);
    e->enlist(sink, tag, std::move(pool));
    return r;
}

Output::Limits Exec::limits_of(const CommandSpec &spec)
{
    Limits l;
    l.run_timeout_ms = spec.timeout_ms;
    l.read_timeout_ms = spec.read_timeout_ms;
    l.buffer_limit = spec.buffer_limit;
    return l;
}

Exec::Exec(Ref<Session> s, CommandSpec spec) : Output(std::move(s), limits_of(spec)), spec_(std::move(spec)) {}

Channel::Wait Exec::step_setup()
{
    Session &s = *session_;
    for (;;) {
        switch (phase_) {
        case Phase::Opening:
            set_opening(true);
            ch_ = libssh2_channel_open_session(s.raw());
            if (!ch_) {
                int e = libssh2_session_last_errno(s.raw());
                if (e == LIBSSH2_ERROR_EAGAIN)
                    return Wait::Libssh2;
                if (spurious(e))
                    return Wait::Libssh2; // libssh2 dropped that open: the next step opens again
                set_opening(false);
                s.release_open(this);
                return fail_io(e, "opening a channel");
            }
            set_opening(false);
            s.release_open(this);
            phase_ = spec_.use_pty ? Phase::Pty : Phase::Env;
            break;
        case Phase::Pty: {
            int rc = libssh2_channel_request_pty(ch_, "xterm");
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (rc && !spurious(rc)) // spurious: the request went out; its reply is moot
                return fail_io(rc, "requesting a pty");
            phase_ = Phase::Env;
            break;
        }
        case Phase::Env:
            while (env_idx_ < spec_.env.size()) {
                const std::string &kv = spec_.env[env_idx_];
                size_t eq = kv.find('=');
                std::string name = kv.substr(0, eq);
                std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
                int rc = libssh2_channel_setenv_ex(ch_, name.c_str(), unsigned(name.size()),
                                                   value.c_str(), unsigned(value.size()));
                if (rc == LIBSSH2_ERROR_EAGAIN)
                    return Wait::Libssh2;
                if (rc && is_transport_error(rc) && !spurious(rc))
                    return fail_io(rc, "setting the environment");
                if (rc)
                    s.loop().log(PSSH_LOG_WARN, "%s: server refused env %s (its AcceptEnv)",
                                 s.settings().display.c_str(), name.c_str());
                env_idx_++;
            }
            phase_ = Phase::Exec;
            break;
        case Phase::Exec: {
            int rc = spec_.shell ? libssh2_channel_shell(ch_) : libssh2_channel_exec(ch_, spec_.command.c_str());
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (rc && !spurious(rc)) { // spurious: the request was sent; the output will tell
                if (spec_.shell)
                    return fail_io(rc, "starting a shell (refused by the server?)", PSSH_E_SHELL);
                return fail_io(rc, "starting the command");
            }
            began();
            return Wait::None;
        }
        }
    }
}

bool Exec::write_pending(bool *failed)
{
    while (pending_off_ < pending_.size()) {
        ssize_t n = libssh2_channel_write(ch_, pending_.data() + pending_off_, pending_.size() - pending_off_);
        if (n == LIBSSH2_ERROR_EAGAIN)
            return true;
        if (n < 0) {
            if (is_transport_error(n)) {
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
        if (rc && is_transport_error(rc)) {
            *failed = true;
            fail_io(rc, "closing stdin");
            return false;
        }
        eof_pending_ = false;
        eof_sent_ = true;
    }
    return false;
}

Channel::Wait Exec::step_running()
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
        return Wait::None; // the ladder goes on to step_closing at once
    }
    // Only waiting for the peer's data: the session may just poll us.
    if (writing)
        return Wait::Libssh2;
    return reading ? Wait::Data : Wait::None;
}

// After EOF: close, then read the exit status (only valid once the channel
// is closed: parallel-ssh issue #424).
Channel::Wait Exec::step_closing()
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
    return complete();
}

pssh_err Exec::write_stdin(const void *buf, size_t len, int timeout_ms, size_t *written)
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

bool Exec::queue_stdin(const char *p, size_t n)
{
    if (stdin_closed_ || write_err_ || finished())
        return false;
    pending_.append(p, n);
    stdin_queued_ += n;
    session_->wake(this);
    return true;
}

void Exec::queue_eof() noexcept
{
    if (stdin_closed_ || finished())
        return;
    stdin_closed_ = true;
    eof_pending_ = true;
    session_->wake(this);
}

pssh_err Exec::shell_run(const char *line, size_t len, int timeout_ms)
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

pssh_err Exec::close_stdin(int timeout_ms)
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

} // namespace pssh
