// Many hosts from one thread (parallel-ssh's ParallelSSHClient): one Session
// per host entry (duplicates stay distinct), a pool that bounds how many
// hosts are setting up at once (connect, auth, channel, exec), and the
// outputs of the last run for join().
//
// Everything is driven by events: the pool moves when an output starts or
// ends or a session settles, and the counters join() and run_command() wait
// on are kept up to date by those same events, so no call scans the hosts
// per loop turn.
#pragma once
#include "../ssh/client.hpp"
#include "../ssh/output.hpp"
#include "../ssh/session.hpp"
#include "pool.hpp"

#include <memory>
#include <string>
#include <vector>

namespace pssh {

class Parallel final : public RefCounted, Output::Sink {
public:
    static constexpr uint32_t kMagic = 0x70737335; // "pss5"
    uint32_t magic = kMagic;

    // host_cfgs: null, or n entries (each may be null).
    static pssh_err create(Loop *loop, const char *const *hosts, size_t n, const Config *defaults,
                           const Config *const *host_cfgs, Parallel **out);

    size_t size() const noexcept { return hosts_.size(); }
    const std::string &host(size_t i) const noexcept { return hosts_[i].st->given; }
    Loop &loop() const noexcept { return *loop_; }
    void set_pool_size(size_t n) { pool_->set_limit(n); }
    void set_stop_on_errors(bool on) noexcept { stop_on_errors_ = on; }
    void set_keep_connections(bool on) noexcept { keep_connections_ = on; }
    void set_callbacks(pssh_line_fn *line, pssh_exit_fn *exit, void *ud) noexcept
    {
        line_fn_ = line;
        exit_fn_ = exit;
        user_ = ud;
    }

    // cmds: one command for all (ncmds == 1 and per_host false) or one per
    // host (ncmds must equal size(): PSSH_E_HOST_ARG otherwise).
    pssh_err run(const char *const *cmds, size_t ncmds, bool per_host, const pssh_cmd_opts *opts,
                 Output **outs);
    pssh_err open_shells(const pssh_cmd_opts *opts, Output **outs);
    pssh_err shell_run(const char *const *lines, size_t n, int timeout_ms);
    pssh_err join_shells(int timeout_ms, size_t *unfinished);
    pssh_err connect_auth();
    pssh_err join(int timeout_ms, bool consume, size_t *unfinished);
    bool finished() const noexcept { return unfinished_ == 0; }

    const std::string &error_message() const noexcept { return err_.msg; }
    const Failure &host_failure(size_t i) const noexcept { return hosts_[i].failure; }

private:
    struct Host {
        Ref<Settings> st;
        Failure bad; // malformed host: every session of it fails with this
        Ref<Session> session;
        Failure failure; // the last run's or connect's result
    };

    // connect_auth's work for one host: waits for a pool slot, then for its
    // session to settle.
    struct ConnectJob final : Pooled, Session::Watcher {
        Parallel &owner;
        size_t host;
        Session *session = nullptr; // watched, not owned
        ConnectJob(Parallel &p, size_t i) : owner(p), host(i) {}
        ~ConnectJob();
        void admit() override;
        void on_settled(Session &s) override;
        using Pooled::join_pool;
        using Pooled::leave_slot;
    };

    Parallel(Ref<Loop> loop) : loop_(std::move(loop)), pool_(Ref<Pool>::adopt(new Pool(100))) {}
    ~Parallel() override;

    Session &live_session(size_t i);
    pssh_err start(const std::vector<CommandSpec> &specs, Output **outs);
    void note_failure(const Failure &f, size_t i);
    void release_outputs();

    // Output::Sink
    bool streams() const override { return line_fn_ != nullptr; }
    void on_line(Output &o, pssh_stream s, const char *line, size_t len) override;
    void on_started(Output &o) override;
    void on_held(Output &o, bool held) override;
    void on_done(Output &o) override;

    Ref<Loop> loop_;
    Ref<Pool> pool_; // shared with the outputs still waiting in it
    std::vector<Host> hosts_;
    bool stop_on_errors_ = true;
    bool keep_connections_ = true; // off: close each host's connection once its command is over
    pssh_line_fn *line_fn_ = nullptr;
    pssh_exit_fn *exit_fn_ = nullptr;
    void *user_ = nullptr;

    std::vector<Ref<Output>> last_;    // outputs of the last run, host order
    std::vector<std::unique_ptr<ConnectJob>> jobs_; // connect_auth in progress
    size_t unstarted_ = 0;  // last run: neither started nor failed yet
    size_t unfinished_ = 0; // last run: not finished
    size_t held_ = 0;       // last run: held back by a full buffer
    size_t failed_ = 0;
    Failure err_;           // first failure of the last call
};

} // namespace pssh
