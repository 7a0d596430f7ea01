// The result of one job on one host (parallel-ssh's HostOutput), whatever
// the job: a command (exec.hpp) or a file transfer (xfer/transfer.hpp).
// This is the public pssh_output. It owns what every kind shares: the pool
// slot, the wait for the session and its channel-open slot, the deadlines
// (setup, then run), the error, the timings, the bounded streams the caller
// reads, and the parallel client's notifications (Sink). A kind supplies
// only its own steps between "its turn came" and "over".
//
// An Output holds its Session, so it stays readable after its client is
// released. When a buffer reaches its limit the channel is no longer read:
// the SSH window then holds the remote back, and nothing is lost.
#pragma once
#include "transport_error.hpp"
#include "../parallel/pool.hpp"
#include "../util/failure.hpp"
#include "session.hpp"
#include "stream_buf.hpp"

#include <cstdint>
#include <string>

namespace pssh {

class Output : public Channel, protected Pooled {
public:
    static constexpr uint32_t kMagic = 0x70737334; // "pss4"
    uint32_t magic = kMagic;

    // Pooled: waiting for the parallel client's pool; Queued: waiting for
    // the session and its channel-open slot; Setup: the kind opens what it
    // needs (its deadline is the config timeout); Running: the job runs (its
    // own deadline); Closing: the kind winds down.
    enum class State { Pooled, Queued, Setup, Running, Closing, Done, Failed };

    // The parallel client's view: lines as they arrive (when it streams),
    // the job's start, a buffer at its limit (the host is held back), and
    // the end. Called from the loop; the Output is alive during a call.
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

    // The index of the host in its parallel client.
    size_t tag() const noexcept { return tag_; }
    bool held() const noexcept { return held_; }
    // A full buffer, or a line the caller still borrows.
    bool waits_for_reader() const noexcept override { return held_ || starved_[0] || starved_[1]; }
    void set_discard(bool on);

    // Channel: the session's side. The shared ladder; the kind's states
    // are stepped through step_setup/step_running/step_closing.
    Wait step() final;
    _LIBSSH2_CHANNEL *handle() const noexcept override { return ch_; }

    State state() const noexcept { return state_; }
    bool started() const noexcept
    {
        return state_ == State::Running || state_ == State::Closing || state_ == State::Done;
    }
    bool finished() const noexcept { return state_ == State::Done || state_ == State::Failed; }
    // The job was started (setup succeeded), whatever happened after.
    bool command_started() const noexcept { return t_run_ != 0; }
    void set_sink(Sink *s) noexcept { sink_ = s; }
    void clear_sink() noexcept { sink_ = nullptr; }
    Session &session() const noexcept { return *session_; }

    // Caller side (blocking calls run the loop).
    pssh_err wait_started();
    pssh_err read_line(pssh_stream s, const char **line, size_t *len, int timeout_ms);
    pssh_err read(pssh_stream s, void *buf, size_t cap, size_t *n, int timeout_ms);
    // Only a command (or a shell) has a stdin: PSSH_E_STATE for other kinds.
    virtual pssh_err write_stdin(const void *buf, size_t len, int timeout_ms, size_t *written);
    virtual pssh_err close_stdin(int timeout_ms);
    // A shell's next line (a newline is added): PSSH_E_SHELL when this is
    // not a shell or its input is closed.
    virtual pssh_err shell_run(const char *line, size_t len, int timeout_ms);
    virtual bool is_shell() const noexcept { return false; }
    // Appends to stdin without waiting; false once stdin is closed, the
    // command stopped reading, or it is over (always for other kinds).
    virtual bool queue_stdin(const char *, size_t) { return false; }
    // Everything queued so far has been sent (or never will be).
    virtual bool stdin_flushed() const noexcept { return true; }
    // Queues EOF on stdin without waiting.
    virtual void queue_eof() noexcept {}
    pssh_err wait(int timeout_ms, bool discard);

    int exit_code() const noexcept;
    const char *exit_signal() const noexcept { return signal_[0] ? signal_ : nullptr; }
    const Failure &failure() const noexcept { return fail_; }
    void timings(pssh_timings *t) const noexcept;
    // Bytes moved and expected (a transfer; zero for a command), and the
    // time spent moving them (-1: not started).
    virtual void transfer_stats(uint64_t *done, uint64_t *total, double *ms) const noexcept;
    _LIBSSH2_CHANNEL *channel() const noexcept { return state_ == State::Running ? ch_ : nullptr; }
    // Fails the job from outside (e.g. a parallel client's deadline).
    void fail(pssh_err code, const std::string &msg);
    // The caller closes the job's channel (parallel-ssh's close_channel):
    // over at once, what arrived stays readable. Never blocks: the channel
    // is closed in the background.
    void close();

protected:
    struct Limits {
        int run_timeout_ms = 0;  // Running's deadline (0: none)
        int read_timeout_ms = 0; // default for reads with timeout -1
        size_t buffer_limit = 1 << 20;
    };
    Output(Ref<Session> s, const Limits &l);
    ~Output() override;
    // The end of every kind's create(): into the pool, or straight to the
    // session. With a pool it waits for a setup slot before it joins its
    // session; it holds the slot until the job starts or fails.
    void enlist(Sink *sink, size_t tag, Ref<Pool> pool);

    // The kind. Each returns what it waits for; it moves the ladder on with
    // began(), set_state(Closing), complete() or a failure.
    virtual Wait step_setup() = 0;
    virtual Wait step_running() = 0;
    virtual Wait step_closing() = 0;
    // Over from outside: let go of what only the kind holds. The channel in
    // ch_ and an open in flight are the base's to hand to the session.
    virtual void on_stop() noexcept {}
    // "command", "transfer": the first word of its messages.
    virtual const char *kind() const noexcept = 0;

    void set_state(State s, int line);
    // A libssh2 channel open is in flight (released then: the session
    // finishes it and closes what it gets).
    void set_opening(bool on) noexcept { opening_ = on; }
    // Setup is over: the run deadline starts, the pool slot is freed and
    // the sink is told.
    void began();
    // Over, successfully (the exit status is set before).
    Wait complete();
    // A libssh2 failure while `what`: PSSH_E_LOST when the transport went,
    // `code` otherwise.
    Wait fail_io(long rc, const char *what, pssh_err code = PSSH_E_CHANNEL);
    bool spurious(long rc);
    // Reads the channel's streams into the buffers (both: they share one
    // window) until libssh2 has nothing more or a buffer is full. True when
    // it stopped on EAGAIN.
    bool read_streams(bool *failed);
    // Lines to the sink (when it streams).
    void deliver(int stream);
    bool streaming() const noexcept { return sink_ && sink_->streams(); }

    Ref<Session> session_;
    _LIBSSH2_CHANNEL *ch_ = nullptr; // the job's channel, if it has one
    StreamBuf bufs_[2];
    bool eof_[2] = {false, false};
    bool has_exit_ = false;
    int exit_status_ = -1;
    char signal_[32] = {0};
    Failure fail_;

private:
    // Pooled: its turn came; it joins its session, which connects if needed.
    void admit() override;
    void stop(State end);
    void hold(bool on) noexcept;
    void start_timer(int ms);
    static void on_timer(void *self);
    bool stream_over(int s) const noexcept { return eof_[s] || finished(); }
    pssh_err end_of_stream() const noexcept;
    Nanos read_deadline(int timeout_ms) const noexcept;
    void resume_if_full(int s, bool was_full) noexcept;
    void end_borrow(int s) noexcept;
    void set_held(bool held);

    static constexpr int kMaxSpurious = 8;
    int spurious_ = 0;
    Limits limits_;
    State state_ = State::Queued;
    bool opening_ = false;
    bool starved_[2] = {false, false}; // reading stopped by a borrowed line
    bool discard_ = false;
    Timer timer_{&Output::on_timer, this};
    bool holding_ = false;
    Sink *sink_ = nullptr;
    size_t tag_ = 0;
    bool held_ = false;
    Nanos t_created_ = 0, t_setup_ = 0, t_run_ = 0;
    double setup_ms_ = -1, run_ms_ = -1;
};

} // namespace pssh
