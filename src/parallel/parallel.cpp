#include "parallel.hpp"

namespace pssh {

namespace {
pssh_output *as_public(Output *o) { return reinterpret_cast<pssh_output *>(o); }
} // namespace

pssh_err Parallel::create(Loop *loop, const char *const *hosts, size_t n, const Config *defaults,
                          const Config *const *host_cfgs, Parallel **out)
{
    pssh_err err;
    Ref<Loop> l = Loop::given_or_new(loop, &err);
    if (!l)
        return err;
    auto p = Ref<Parallel>::adopt(new Parallel(std::move(l)));
    p->hosts_.resize(n);
    for (size_t i = 0; i < n; i++) {
        Host &h = p->hosts_[i];
        const std::string text = hosts[i] ? hosts[i] : "";
        std::string why;
        if (build_settings(text, defaults, host_cfgs ? host_cfgs[i] : nullptr, h.st, &why) != PSSH_OK) {
            // Kept as a host that fails: the others run, this one reports it.
            h.st = Ref<Settings>::adopt(new Settings());
            h.st->given = h.st->display = h.st->host = text;
            h.bad.set(PSSH_E_HOST_ARG, "malformed host '" + text + "': " + why);
        }
    }
    *out = p.release();
    return PSSH_OK;
}

Parallel::~Parallel()
{
    magic = 0;
    release_outputs();
    jobs_.clear();
}

// Outputs of an earlier run stop reporting to us. Any still waiting for the
// pool keep their place in it: the pool bound holds across runs.
void Parallel::release_outputs()
{
    for (Ref<Output> &o : last_)
        o->clear_sink();
    last_.clear();
    unstarted_ = unfinished_ = held_ = 0;
}

Session &Parallel::live_session(size_t i)
{
    Host &h = hosts_[i];
    if (!h.session || h.session->over()) {
        h.session = h.bad ? Session::create_failed(*loop_, h.st, h.bad.code, h.bad.msg)
                          : Session::create(*loop_, h.st);
        h.session->set_tag(i);
    }
    return *h.session;
}

Parallel::ConnectJob::~ConnectJob()
{
    if (session)
        session->set_watcher(nullptr);
}

void Parallel::ConnectJob::admit()
{
    Session &s = owner.live_session(host);
    if (s.ready() || s.over())
        return on_settled(s);
    session = &s;
    s.set_watcher(this);
    s.start();
}

void Parallel::ConnectJob::on_settled(Session &s)
{
    session = nullptr;
    leave_slot();
    owner.unstarted_--;
    if (s.over())
        owner.note_failure(s.failure(), host);
}

void Parallel::note_failure(const Failure &f, size_t i)
{
    hosts_[i].failure = f;
    failed_++;
    if (!err_)
        err_ = f;
}

pssh_err Parallel::run(const char *const *cmds, size_t ncmds, bool per_host, const pssh_cmd_opts *opts,
                       Output **outs)
{
    if (loop_->busy())
        return PSSH_E_BUSY;
    const size_t n = hosts_.size();
    if (per_host && ncmds != n) {
        err_.set(PSSH_E_HOST_ARG, std::to_string(ncmds) + " commands for " + std::to_string(n) + " hosts");
        return PSSH_E_HOST_ARG;
    }
    std::vector<CommandSpec> specs(per_host ? n : 1);
    for (size_t i = 0; i < specs.size(); i++) {
        std::string why;
        if (pssh_err rc = make_command_spec(cmds[i], opts, specs[i], &why); rc != PSSH_OK) {
            err_.set(rc, (per_host ? "command for host " + std::to_string(i) + ": " : "") + why);
            return rc;
        }
    }
    return start(specs, outs);
}

pssh_err Parallel::open_shells(const pssh_cmd_opts *opts, Output **outs)
{
    if (loop_->busy())
        return PSSH_E_BUSY;
    std::vector<CommandSpec> specs(1);
    std::string why;
    if (pssh_err rc = make_shell_spec(opts, specs[0], &why); rc != PSSH_OK) {
        err_.set(rc, why);
        return rc;
    }
    return start(specs, outs);
}

// specs: one for every host, or one per host.
pssh_err Parallel::start(const std::vector<CommandSpec> &specs, Output **outs)
{
    const size_t n = hosts_.size();
    Ref<Parallel> self = Ref<Parallel>::share(this); // a callback may release the caller's handle
    release_outputs();
    err_.clear();
    failed_ = 0;
    unstarted_ = unfinished_ = n;
    last_.reserve(n);
    for (size_t i = 0; i < n; i++) {
        hosts_[i].failure.clear();
        CommandSpec spec = specs[specs.size() == n ? i : 0];
        last_.push_back(Output::create(Ref<Session>::share(&live_session(i)), std::move(spec), this, i, pool_));
    }
    pssh_err rc = loop_->run_until([this] { return unstarted_ == 0 || (stop_on_errors_ && failed_ > 0); },
                                   kNever);
    if (outs)
        for (size_t i = 0; i < n; i++)
            outs[i] = Ref<Output>(last_[i]).release();
    if (rc != PSSH_OK)
        return rc;
    return stop_on_errors_ && err_ ? err_.code : PSSH_OK;
}

pssh_err Parallel::connect_auth()
{
    if (loop_->busy())
        return PSSH_E_BUSY;
    Ref<Parallel> self = Ref<Parallel>::share(this);
    const size_t n = hosts_.size();
    release_outputs();
    err_.clear();
    failed_ = 0;
    unstarted_ = n; // here: hosts not settled yet
    for (size_t i = 0; i < n; i++)
        hosts_[i].failure.clear();
    jobs_.clear();
    jobs_.reserve(n);
    for (size_t i = 0; i < n; i++)
        jobs_.push_back(std::make_unique<ConnectJob>(*this, i));
    for (auto &j : jobs_)
        j->join_pool(pool_);
    pssh_err rc = loop_->run_until([this] { return unstarted_ == 0 || (stop_on_errors_ && failed_ > 0); },
                                   kNever);
    // Hosts not begun when we stop early connect on their next run; those
    // connecting go on, unwatched.
    jobs_.clear();
    if (rc != PSSH_OK)
        return rc;
    return stop_on_errors_ && err_ ? err_.code : PSSH_OK;
}

// Lines go to every shell of the last run at once: queued on all of them,
// then sent together.
pssh_err Parallel::shell_run(const char *const *lines, size_t n, int timeout_ms)
{
    if (loop_->busy())
        return PSSH_E_BUSY;
    Ref<Parallel> self = Ref<Parallel>::share(this);
    err_.clear();
    std::vector<Ref<Output>> shells;
    for (Ref<Output> &o : last_) {
        if (!o->is_shell())
            return PSSH_E_SHELL;
        bool ok = true;
        for (size_t k = 0; k < n && ok; k++) {
            std::string l(lines[k]);
            l.push_back('\n');
            ok = o->queue_stdin(l.data(), l.size());
        }
        if (ok)
            shells.push_back(o);
        else if (!err_)
            err_.set(PSSH_E_SHELL, o->session().settings().display + ": shell: its input is closed");
    }
    pssh_err rc = loop_->wait_until(
        [&] {
            for (const Ref<Output> &o : shells)
                if (!o->stdin_flushed())
                    return false;
            return true;
        },
        deadline_after_ms(timeout_ms));
    if (rc != PSSH_OK)
        return rc;
    return err_ ? err_.code : PSSH_OK;
}

pssh_err Parallel::join_shells(int timeout_ms, size_t *unfinished)
{
    if (loop_->busy())
        return PSSH_E_BUSY;
    for (Ref<Output> &o : last_)
        if (o->is_shell())
            o->queue_eof();
    return join(timeout_ms, false, unfinished);
}

pssh_err Parallel::join(int timeout_ms, bool consume, size_t *unfinished)
{
    if (loop_->busy())
        return PSSH_E_BUSY;
    Ref<Parallel> self = Ref<Parallel>::share(this);
    if (consume)
        for (Ref<Output> &o : last_)
            o->set_discard(true);
    pssh_err rc = loop_->run_until(
        [&] { return unfinished_ == 0 || (!consume && held_ > 0 && held_ == unfinished_); },
        deadline_after_ms(timeout_ms));
    if (consume)
        for (Ref<Output> &o : last_)
            o->set_discard(false);
    if (unfinished)
        *unfinished = unfinished_;
    if (unfinished_ == 0)
        return PSSH_OK;
    if (!consume && held_ > 0 && held_ == unfinished_)
        return PSSH_E_FULL;
    return rc;
}

void Parallel::on_line(Output &o, pssh_stream s, const char *line, size_t len)
{
    if (line_fn_) {
        Ref<Parallel> keep = Ref<Parallel>::share(this);
        Loop::CallbackScope scope(*loop_);
        line_fn_(as_public(&o), o.tag(), s, line, len, user_);
    }
}

void Parallel::on_started(Output &) { unstarted_--; }

void Parallel::on_held(Output &, bool held) { held ? held_++ : held_--; }

void Parallel::on_done(Output &o)
{
    Ref<Parallel> keep = Ref<Parallel>::share(this);
    if (!o.command_started()) // failed before its command started
        unstarted_--;
    unfinished_--;
    if (o.failure())
        note_failure(o.failure(), o.tag());
    if (!keep_connections_ && hosts_[o.tag()].session.get() == &o.session()) {
        o.session().retire(); // one-shot runs: its descriptor goes back now
        hosts_[o.tag()].session.reset();
    }
    if (exit_fn_) {
        Loop::CallbackScope scope(*loop_);
        exit_fn_(as_public(&o), o.tag(), user_);
    }
}

} // namespace pssh
