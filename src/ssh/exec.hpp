// A command on one host: the exec kind of Output. Its setup opens a
// session channel, asks for a pty and the environment, and starts the
// command; it then runs until both streams end, and closes the channel to
// read the exit status.
#pragma once
#include "output.hpp"

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

class Exec final : public Output {
public:
    // With a pool: waits for a setup slot before it joins its session; it
    // holds the slot until its command starts or it fails.
    static Ref<Output> create(Ref<Session> s, CommandSpec spec, Sink *sink = nullptr, size_t tag = 0,
                              Ref<Pool> pool = {});

    pssh_err write_stdin(const void *buf, size_t len, int timeout_ms, size_t *written) override;
    pssh_err close_stdin(int timeout_ms) override;
    pssh_err shell_run(const char *line, size_t len, int timeout_ms) override;
    bool is_shell() const noexcept override { return spec_.shell; }
    bool queue_stdin(const char *p, size_t n) override;
    bool stdin_flushed() const noexcept override
    {
        return stdin_sent_ >= stdin_queued_ || write_err_ || finished();
    }
    void queue_eof() noexcept override;

private:
    enum class Phase { Opening, Pty, Env, Exec };
    Exec(Ref<Session> s, CommandSpec spec);
    static Limits limits_of(const CommandSpec &spec);
    ~Exec() override = default;

    Wait step_setup() override;
    Wait step_running() override;
    Wait step_closing() override;
    const char *kind() const noexcept override { return "command"; }
    bool write_pending(bool *failed);

    CommandSpec spec_;
    Phase phase_ = Phase::Opening;
    size_t env_idx_ = 0;
    std::string pending_; // stdin bytes not yet taken by libssh2
    size_t pending_off_ = 0;
    uint64_t stdin_queued_ = 0, stdin_sent_ = 0; // totals since exec
    long write_err_ = 0;
    bool eof_pending_ = false, eof_sent_ = false, stdin_closed_ = false;
};

} // namespace pssh
