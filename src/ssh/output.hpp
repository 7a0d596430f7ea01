// The output of one command on one host (parallel-ssh's HostOutput): a
// channel's flow (queue, open, pty, env, exec, run, close) stepped by its
// Session, and the bounded buffers the caller reads from.
//
// An Output holds its Session, so it stays readable after its client is
// released. When a buffer reaches its limit the channel is no longer read:
// the SSH window then holds the remote command back, and nothing is lost.
#pragma once
#include "../parallel/pool.hpp"
#include "../util/failure.hpp"
#include "session.hpp"
#include "stream_buf.hpp"

#include <string>
#include <vector>

namespace pssh {

struct CommandSpec {
    std::string command; // as sent to exec (sudo/shell already applied)
    bool shell = false;  // an interactive shell: no command, lines go to its stdin
    bool use_pty = false;
    std::vector<std::string> env; // "NAME=value"
    int read_timeout_ms = 0;
    int timeout_ms = 0;
    size_t buffer_limit = 1 << 20;
};

class Output final : public Channel, Pooled {
public:
    static constexpr uint32_t kMagic = 0x70737334; // "pss4"
    uint32_t magic = kMagic;

    // Pooled: waiting for the parallel client's pool; Queued: waiting for
    // the session and its channel-open slot.
    enum class State { Pooled, Queued, Opening, Pty, Env, Exec, Running, Closing, Done, Failed };

    // The parallel client's view: lines as they arrive (when it streams),
    // the command's start, a buffer at its limit (the host is held back),
    // and the end. Called from the loop; the Output is alive during a call.
    class Sink {
    public:
        virtual bool streams() const = 0; // take lines instead of buffering them
        virtual void on_line(Output &o, pssh_stream s, const char *line, size_t len) = 0;
        virtual void on_started(Output &o) = 0;
        virtual void on_held(Output &o, bool held) = 0;
        virtual void on_done(Output &o) = 0;

    protected:
        ~Sink() = default;
    };

    // With a pool: waits for a setup slot before it joins its session; it
    // holds the slot until its command starts or it fails.
    static Ref<Output> create(Ref<Session> s, CommandSpec spec, Sink *sink = nullptr, size_t tag = 0,
                              Ref<Pool> pool = {});
    // The index of the host in its parallel client.
    size_t tag() const noexcept { return tag_; }
    bool held() const noexcept { return held_; }
    // A full buffer, or a line the caller still borrows.
    bool waits_for_reader() const noexcept override { return held_ || starved_[0] || starved_[1]; }
    void set_discard(bool on);

    // Channel: the session's side.
    Wait step() override;
    _LIBSSH2_CHANNEL *handle() const noexcept override { return ch_; }

    State state() const noexcept { return state_; }
    bool started() const noexcept
    {
        return state_ == State::Running || state_ == State::Closing || state_ == State::Done;
    }
    bool finished() const noexcept { return state_ == State::Done || state_ == State::Failed; }
    // The command was started (exec succeeded), whatever happened after.
    bool command_started() const noexcept { return t_run_ != 0; }
    void set_sink(Sink *s) noexcept { sink_ = s; }
    void clear_sink() noexcept { sink_ = nullptr; }
    Session &session() const noexcept { return *session_; }

    // Caller side (blocking calls run the loop).
    pssh_err wait_started();
    pssh_err read_line(pssh_stream s, const char **line, size_t *len, int timeout_ms);
    pssh_err read(pssh_stream s, void *buf, size_t cap, size_t *n, int timeout_ms);
    pssh_err write_stdin(const void *buf, size_t len, int timeout_ms, size_t *written);
    pssh_err close_stdin(int timeout_ms);
    // A shell's next line (a newline is added): PSSH_E_SHELL when this is
    // not a shell or its input is closed.
    pssh_err shell_run(const char *line, size_t len, int timeout_ms);
    bool is_shell() const noexcept { return spec_.shell; }
    // Appends to stdin without waiting; false once stdin is closed, the
    // command stopped reading, or it is over.
    bool queue_stdin(const char *p, size_t n);
    // Everything queued so far has been sent (or never will be).
    bool stdin_flushed() const noexcept { return stdin_sent_ >= stdin_queued_ || write_err_ || finished(); }
    // Queues EOF on stdin without waiting.
    void queue_eof() noexcept;
    pssh_err wait(int timeout_ms, bool discard);

    int exit_code() const noexcept;
    const char *exit_signal() const noexcept { return signal_[0] ? signal_ : nullptr; }
    const Failure &failure() const noexcept { return fail_; }
    void timings(pssh_timings *t) const noexcept;
    _LIBSSH2_CHANNEL *channel() const noexcept { return state_ == State::Running ? ch_ : nullptr; }
    // Fails the command from outside (e.g. a parallel client's deadline).
    void fail(pssh_err code, const std::string &msg);
    // The caller closes the command's channel (parallel-ssh's
    // close_channel): over at once, what arrived stays readable. Never
    // blocks: the channel is closed in the background.
    void close();

private:
    Output(Ref<Session> s, CommandSpec spec);
    ~Output() override;
    // Pooled: its turn came; it joins its session, which connects if needed.
    void admit() override;

    void stop(State end);
    Wait pump();
    bool read_streams(bool *failed);
    bool write_pending(bool *failed);
    Wait finish();
    Wait fail_io(long rc, const char *what, pssh_err refused = PSSH_E_CHANNEL);
    void deliver(int stream);
    bool spurious(long rc);
    static constexpr int kMaxSpurious = 8;
    int spurious_ = 0;
    void set_state(State s, int line);
    void hold(bool on) noexcept;
    void start_timer(int ms);
    static void on_timer(void *self);
    bool stream_over(int s) const noexcept { return eof_[s] || finished(); }
    pssh_err end_of_stream() const noexcept;
    Nanos read_deadline(int timeout_ms) const noexcept;
    void resume_if_full(int s, bool was_full) noexcept;
    void end_borrow(int s) noexcept;
    void set_held(bool held);
    bool streaming() const noexcept { return sink_ && sink_->streams(); }

    Ref<Session> session_;
    CommandSpec spec_;
    State state_ = State::Queued;
    _LIBSSH2_CHANNEL *ch_ = nullptr;
    StreamBuf bufs_[2];
    bool eof_[2] = {false, false};
    bool starved_[2] = {false, false}; // reading stopped by a borrowed line
    std::string pending_; // stdin bytes not yet taken by libssh2
    size_t pending_off_ = 0;
    uint64_t stdin_queued_ = 0, stdin_sent_ = 0; // totals since exec
    long write_err_ = 0;
    bool eof_pending_ = false, eof_sent_ = false, stdin_closed_ = false;
    bool discard_ = false;
    bool has_exit_ = false;
    int exit_status_ = -1;
    char signal_[32] = {0};
    Failure fail_;
    size_t env_idx_ = 0;
    Timer timer_{&Output::on_timer, this};
    bool holding_ = false;
    Sink *sink_ = nullptr;
    size_t tag_ = 0;
    bool held_ = false;
    Nanos t_created_ = 0, t_exec_ = 0, t_run_ = 0;
    double exec_ms_ = -1, run_ms_ = -1;
};

} // namespace pssh
