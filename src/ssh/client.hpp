// One host (parallel-ssh's SSHClient): its settings and its current
// connection. Releasing the client leaves the connection to the outputs
// that still hold it.
#pragma once
#include "config.hpp"
#include "loop.hpp"
#include "output.hpp"
#include "session.hpp"

#include <string>

namespace pssh {

// Settings for `host_text`: built-in defaults <- base <- over <- the user
// and port written in the host string. PSSH_E_HOST_ARG when malformed.
pssh_err build_settings(const std::string &host_text, const Config *base, const Config *over,
                        Ref<Settings> &out, std::string *why);

// libssh2 1.10 sends no packet over 35,000 bytes: an exec request of
// 34,725 bytes was the longest to go out (measured). Longer commands and
// environment entries are refused before anything connects.
constexpr size_t kMaxCommandBytes = 32768;

// The command spec for run_command: the exec line and its options.
// PSSH_E_INVAL with the reason in *why.
pssh_err make_command_spec(const char *cmd, const pssh_cmd_opts *opts, CommandSpec &out, std::string *why);
// The same for an interactive shell: pty, env, timeouts and buffer limit
// apply; sudo, user and shell do not (PSSH_E_INVAL).
pssh_err make_shell_spec(const pssh_cmd_opts *opts, CommandSpec &out, std::string *why);

class Client final : public RefCounted {
public:
    static constexpr uint32_t kMagic = 0x70737333; // "pss3"
    uint32_t magic = kMagic;

    // loop may be null: the client makes its own.
    static pssh_err create(Loop *loop, const char *host, const Config *cfg, Client **out);

    pssh_err connect();
    pssh_err run_command(const char *cmd, const pssh_cmd_opts *opts, Output **out);
    pssh_err open_shell(const pssh_cmd_opts *opts, Output **out);
    pssh_err eagain(pssh_eagain_fn *fn, void *arg, int timeout_ms, int *rc);
    pssh_err eagain_write(pssh_eagain_write_fn *fn, void *arg, const void *buf, size_t len,
                          int timeout_ms, size_t *written, long *rc);

    const std::string &error_message() const noexcept { return err_; }
    int attempts() const noexcept { return session_ ? session_->attempts() : 0; }
    const std::string &host() const noexcept { return host_; }
    const std::string &alias() const noexcept { return st_->display; }
    Loop &loop() const noexcept { return *loop_; }
    _LIBSSH2_SESSION *raw_session() const noexcept;

private:
    Client(Ref<Loop> loop, Ref<Settings> st, std::string host);
    ~Client() override { magic = 0; }
    // The current connection, or a new one if there is none or it is over.
    Session &live_session();
    // Starts spec on the connection and waits until it runs.
    pssh_err start(const char *what, CommandSpec spec, Output **out);
    pssh_err fail(pssh_err code, const std::string &msg);
    // eagain helpers: run the loop until libssh2 may progress on s, the
    // connection ends, or the deadline passes.
    pssh_err wait_for_session(Session &s, Nanos deadline);

    Ref<Loop> loop_;
    Ref<Settings> st_;
    std::string host_;
    Ref<Session> session_;
    std::string err_;
};

} // namespace pssh
