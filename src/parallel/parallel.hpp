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

#include <deque>
#include <string>
#include <vector>

namespace pssh {

class Parallel final : public RefCounted, Output::Sink, Session::Watcher {
public:
    static constexpr uint32_t kMagic = 0x70737335; // "pss5"
    uint32_t magic = kMagic;

    // host_cfgs: null, or n entries (each may be null).
    static pssh_err create(Loop *loop, const char *const *hosts, size_t n, const Config *defaults,
                           const Config *const *host_cfgs, Parallel **out);

    size_t size() const noexcept { return hosts_.size(); }
    const std::string &host(size_t i) const noexcept { return hosts_[i].st->given; }
    Loop &loop() const noexcept { return *loop_; }
    void set_pool_size(size_t n) noexcept { pool_size_ = n; }
    void set_stop_on_errors(bool on) noexcept { stop_on_errors_ = on; }
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

    Parallel(Ref<Loop> loop) : loop_(std::move(loop)) {}
    ~Parallel() override;

    Session &live_session(size_t i);
    void pump();
    void slot_freed();
    void note_failure(const Failure &f, size_t i);
    void release_outputs();

    // Output::Sink
    bool streams() const override { return line_fn_ != nullptr; }
    void on_line(Output &o, pssh_stream s, const char *line, size_t len) override;
    void on_started(Output &o) override;
    void on_held(Output &o, bool held) override;
    void on_done(Output &o) override;
    // Session::Watcher
    void on_settled(Session &s) override;

    Ref<Loop> loop_;
    std::vector<Host> hosts_;
    size_t pool_size_ = 100;
    bool stop_on_errors_ = true;
    pssh_line_fn *line_fn_ = nullptr;
    pssh_exit_fn *exit_fn_ = nullptr;
    void *user_ = nullptr;

    std::vector<Ref<Output>> last_;    // outputs of the last run, host order
    std::deque<size_t> queue_;         // hosts waiting for a pool slot
    std::vector<Session *> connecting_; // connect_auth: sessions by host (not owned)
    bool connect_mode_ = false;
    bool pumping_ = false;
    size_t in_setup_ = 0;   // hosts holding a pool slot
    size_t unstarted_ = 0;  // last run: neither started nor failed yet
    size_t unfinished_ = 0; // last run: not finished
    size_t held_ = 0;       // last run: held back by a full buffer
    size_t failed_ = 0;
    Failure err_;           // first failure of the last call
};

} // namespace pssh
