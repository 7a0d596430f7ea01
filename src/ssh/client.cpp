#include "client.hpp"

#include "../config/ssh_config_apply.hpp"
#include "../net/hostspec.hpp"
#include "../util/errors.hpp"
#include "command.hpp"

#include <cstring>
#include <libssh2.h>

namespace pssh {

pssh_err build_settings(Loop &loop, const std::string &host_text, const Config *base, const Config *over,
                        Ref<Settings> &out, std::string *why_out)
{
    std::string scratch;
    std::string *why = why_out ? why_out : &scratch;
    HostSpec spec;
    if (!parse_host_spec(host_text, spec, why)) {
        *why = "malformed host '" + host_text + "': " + *why;
        return PSSH_E_HOST_ARG;
    }
    Config api; // what the caller set: it wins over the files
    if (base)
        api.apply(*base);
    if (over)
        api.apply(*over);
    auto st = Ref<Settings>::adopt(new Settings());
    st->cfg = builtin_defaults();
    st->host = spec.host;
    if (api.has(Config::kSshConfig) && !api.ssh_config_files.empty()) {
        Config files;
        if (pssh_err rc = ssh_config_for(loop, spec, api, files, st->host, why); rc != PSSH_OK) {
            *why = "ssh_config: " + *why;
            return rc;
        }
        st->cfg.apply(files);
    }
    st->cfg.apply(api);
    st->user = spec.user.empty() ? st->cfg.user : spec.user;
    st->port = spec.port ? spec.port : st->cfg.port;
    st->given = host_text;
    st->display = st->cfg.alias.empty() ? host_text : st->cfg.alias;
    resolve_proxies(*st);
    out = std::move(st);
    return PSSH_OK;
}

pssh_err make_command_spec(const char *cmd, const pssh_cmd_opts *o, CommandSpec &out, std::string *why)
{
    out = CommandSpec{};
    out.command = build_command(cmd, o);
    if (out.command.size() > kMaxCommandBytes) {
        *why = "the command is " + std::to_string(out.command.size()) + " bytes long" +
               (o && (o->sudo || o->user || o->shell) ? " with its sudo/shell wrapping" : "") +
               "; libssh2 sends commands of at most " + std::to_string(kMaxCommandBytes) +
               " bytes (send longer scripts on stdin)";
        return PSSH_E_INVAL;
    }
    if (!o)
        return PSSH_OK;
    if (o->read_timeout_ms < 0 || o->timeout_ms < 0) {
        *why = "a negative timeout in the command options";
        return PSSH_E_INVAL;
    }
    out.use_pty = o->use_pty != 0;
    for (const char *const *e = o->env; e && *e; e++) {
        if (!strchr(*e, '=') || **e == '=') {
            *why = std::string("environment entry '") + *e + "' is not NAME=value";
            return PSSH_E_INVAL;
        }
        if (strlen(*e) > kMaxCommandBytes) {
            *why = "an environment entry is over " + std::to_string(kMaxCommandBytes) + " bytes";
            return PSSH_E_INVAL;
        }
        out.env.emplace_back(*e);
    }
    out.read_timeout_ms = o->read_timeout_ms;
    out.timeout_ms = o->timeout_ms;
    if (o->buffer_limit)
        out.buffer_limit = o->buffer_limit;
    return PSSH_OK;
}

pssh_err make_shell_spec(const pssh_cmd_opts *o, CommandSpec &out, std::string *why)
{
    if (o && (o->sudo || (o->user && *o->user) || (o->shell && *o->shell))) {
        *why = "sudo, user and shell do not apply to an interactive shell";
        return PSSH_E_INVAL;
    }
    pssh_err rc = make_command_spec("", o, out, why);
    out.shell = true;
    return rc;
}

pssh_err Client::create(Loop *loop, const char *host, const Config *cfg, Client **out)
{
    pssh_err err;
    Ref<Loop> l = Loop::given_or_new(loop, &err);
    if (!l)
        return err;
    Ref<Settings> st;
    std::string why;
    if (pssh_err rc = build_settings(*l, host, nullptr, cfg, st, &why); rc != PSSH_OK) {
        l->log(PSSH_LOG_ERROR, "%s: %s", host, why.c_str()); // the caller gets only the class
        return rc;
    }
    *out = new Client(std::move(l), std::move(st), host);
    return PSSH_OK;
}

Client::Client(Ref<Loop> loop, Ref<Settings> st, std::string host)
    : loop_(std::move(loop)), st_(std::move(st)), host_(std::move(host))
{
}

_LIBSSH2_SESSION *Client::raw_session() const noexcept
{
    return session_ && session_->ready() ? session_->raw() : nullptr;
}

Session &Client::live_session()
{
    if (!session_ || session_->over())
        session_ = Session::create(*loop_, st_);
    return *session_;
}

pssh_err Client::fail(pssh_err code, const std::string &msg)
{
    err_ = msg;
    return code;
}

// Blocking entries: refused inside a callback before anything changes, and
// the client (with its loop and session) held while they run, since a
// callback may release the caller's last handle.
pssh_err Client::connect()
{
    if (loop_->busy())
        return fail(PSSH_E_BUSY, st_->display + ": connect: called from inside a callback");
    Ref<Client> self = Ref<Client>::share(this);
    Session &s = live_session();
    s.start();
    Ref<Session> keep = session_;
    pssh_err rc = loop_->run_until([&] { return s.ready() || s.over(); }, kNever);
    if (rc != PSSH_OK)
        return fail(rc, st_->display + ": connect: " + error_text(rc));
    if (s.over())
        return fail(s.failure().code, s.failure().msg);
    err_.clear();
    return PSSH_OK;
}

pssh_err Client::run_command(const char *cmd, const pssh_cmd_opts *opts, Output **out)
{
    if (loop_->busy())
        return fail(PSSH_E_BUSY, st_->display + ": run_command: called from inside a callback");
    CommandSpec spec;
    std::string why;
    if (pssh_err rc = make_command_spec(cmd, opts, spec, &why); rc != PSSH_OK)
        return fail(rc, st_->display + ": run_command: " + why);
    return start("run_command", std::move(spec), out);
}

pssh_err Client::open_shell(const pssh_cmd_opts *opts, Output **out)
{
    if (loop_->busy())
        return fail(PSSH_E_BUSY, st_->display + ": open_shell: called from inside a callback");
    CommandSpec spec;
    std::string why;
    if (pssh_err rc = make_shell_spec(opts, spec, &why); rc != PSSH_OK)
        return fail(rc, st_->display + ": open_shell: " + why);
    return start("open_shell", std::move(spec), out);
}

pssh_err Client::start(const char *what, CommandSpec spec, Output **out)
{
    Ref<Client> self = Ref<Client>::share(this);
    Session &s = live_session();
    Ref<Output> o = Exec::create(Ref<Session>::share(&s), std::move(spec));
    pssh_err rc = o->wait_started();
    if (rc != PSSH_OK) {
        const Failure &f = o->failure();
        return fail(f ? f.code : rc, f ? f.msg : st_->display + ": " + what + ": " + error_text(rc));
    }
    err_.clear();
    *out = o.release();
    return PSSH_OK;
}

pssh_err Client::run_to_end(const char *what, const MakeJob &make, Output **out)
{
    if (loop_->busy())
        return fail(PSSH_E_BUSY, st_->display + ": " + what + ": called from inside a callback");
    Ref<Client> self = Ref<Client>::share(this);
    Ref<Output> o = make(Ref<Session>::share(&live_session()));
    pssh_err rc = loop_->run_until([&] { return o->finished(); }, kNever);
    const Failure &f = o->failure();
    if (rc == PSSH_OK && f)
        rc = fail(f.code, f.msg);
    else if (rc != PSSH_OK)
        rc = fail(rc, st_->display + ": " + what + ": " + error_text(rc));
    else
        err_.clear();
    if (out)
        *out = o.release();
    return rc;
}

pssh_err Client::wait_for_session(Session &s, Nanos deadline)
{
    s.user_wait_begin();
    pssh_err err = loop_->wait_until([&] { return s.user_wait_ready() || s.over(); }, deadline);
    s.user_wait_end();
    if (err != PSSH_OK)
        return err;
    if (s.over())
        return fail(s.failure().code, s.failure().msg);
    return PSSH_OK;
}

pssh_err Client::eagain(pssh_eagain_fn *fn, void *arg, int timeout_ms, int *rc_out)
{
    if (loop_->busy())
        return fail(PSSH_E_BUSY, st_->display + ": eagain: called from inside a callback");
    if (!session_ || !session_->ready())
        return fail(PSSH_E_STATE, st_->display + ": eagain: not connected");
    Ref<Client> self = Ref<Client>::share(this);
    Ref<Session> s = session_;
    Nanos deadline = deadline_after_ms(timeout_ms);
    for (;;) {
        int rc = fn(arg);
        if (rc_out)
            *rc_out = rc;
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return PSSH_OK;
        if (pssh_err err = wait_for_session(*s, deadline); err != PSSH_OK)
            return err;
    }
}

pssh_err Client::eagain_write(pssh_eagain_write_fn *fn, void *arg, const void *buf, size_t len,
                              int timeout_ms, size_t *written, long *rc_out)
{
    if (written)
        *written = 0;
    if (loop_->busy())
        return fail(PSSH_E_BUSY, st_->display + ": eagain_write: called from inside a callback");
    if (!session_ || !session_->ready())
        return fail(PSSH_E_STATE, st_->display + ": eagain_write: not connected");
    Ref<Client> self = Ref<Client>::share(this);
    Ref<Session> s = session_;
    Nanos deadline = deadline_after_ms(timeout_ms);
    const char *p = static_cast<const char *>(buf);
    size_t off = 0;
    while (off < len) {
        long rc = fn(arg, p + off, len - off);
        if (rc_out)
            *rc_out = rc;
        if (rc > 0) {
            off += size_t(rc);
            if (written)
                *written = off;
            continue;
        }
        if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN) // 0 (window full) waits like EAGAIN
            return fail(PSSH_E_LOST, st_->display + ": eagain_write: libssh2 error " + std::to_string(rc));
        if (pssh_err err = wait_for_session(*s, deadline); err != PSSH_OK)
            return err;
    }
    return PSSH_OK;
}

} // namespace pssh
