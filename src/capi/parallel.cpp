#include "../parallel/parallel.hpp"
#include "glue.hpp"

using pssh::Config;
using pssh::Loop;
using pssh::Output;
using pssh::Parallel;
using pssh::capi::guard;
using pssh::capi::unwrap;
using pssh::capi::wrap;

extern "C" {

PSSH_API pssh_err pssh_parallel_new(pssh_loop *loop, const char *const *hosts, size_t n,
                                    const pssh_config *defaults, const pssh_config *const *host_cfgs,
                                    pssh_parallel **out)
{
    if (!out)
        return PSSH_E_INVAL;
    *out = nullptr;
    Loop *l = unwrap<Loop>(loop);
    const Config *d = pssh::capi::config_of(defaults);
    if ((loop && !l) || (defaults && !d) || (n && !hosts))
        return PSSH_E_INVAL;
    return guard([&] {
        std::vector<const Config *> per;
        if (host_cfgs) {
            per.resize(n);
            for (size_t i = 0; i < n; i++) {
                per[i] = pssh::capi::config_of(host_cfgs[i]);
                if (host_cfgs[i] && !per[i])
                    return PSSH_E_INVAL;
            }
        }
        Parallel *p = nullptr;
        pssh_err rc = Parallel::create(l, hosts, n, d, host_cfgs ? per.data() : nullptr, &p);
        *out = wrap<pssh_parallel>(p);
        return rc;
    });
}

PSSH_API pssh_parallel *pssh_parallel_ref(pssh_parallel *p)
{
    if (Parallel *x = unwrap<Parallel>(p))
        x->ref();
    return p;
}

PSSH_API pssh_parallel *pssh_parallel_unref(pssh_parallel *p)
{
    if (Parallel *x = unwrap<Parallel>(p))
        x->unref();
    return nullptr;
}

PSSH_API size_t pssh_parallel_size(const pssh_parallel *p)
{
    const Parallel *x = unwrap<Parallel>(p);
    return x ? x->size() : 0;
}

PSSH_API const char *pssh_parallel_host(const pssh_parallel *p, size_t i)
{
    const Parallel *x = unwrap<Parallel>(p);
    return x && i < x->size() ? x->host(i).c_str() : "";
}

PSSH_API pssh_loop *pssh_parallel_loop(const pssh_parallel *p)
{
    const Parallel *x = unwrap<Parallel>(p);
    return x ? wrap<pssh_loop>(&x->loop()) : nullptr;
}

PSSH_API pssh_err pssh_parallel_set_pool_size(pssh_parallel *p, size_t n)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x || n == 0)
        return PSSH_E_INVAL;
    x->set_pool_size(n);
    return PSSH_OK;
}

PSSH_API pssh_err pssh_parallel_set_stop_on_errors(pssh_parallel *p, int on)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x)
        return PSSH_E_INVAL;
    x->set_stop_on_errors(on != 0);
    return PSSH_OK;
}

PSSH_API pssh_err pssh_parallel_set_keep_connections(pssh_parallel *p, int on)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x)
        return PSSH_E_INVAL;
    x->set_keep_connections(on != 0);
    return PSSH_OK;
}

PSSH_API pssh_err pssh_parallel_set_callbacks(pssh_parallel *p, pssh_line_fn *on_line, pssh_exit_fn *on_exit,
                                              void *userdata)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x)
        return PSSH_E_INVAL;
    x->set_callbacks(on_line, on_exit, userdata);
    return PSSH_OK;
}

PSSH_API pssh_err pssh_parallel_run_command(pssh_parallel *p, const char *cmd, const pssh_cmd_opts *opts,
                                            pssh_output **outs)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x || !cmd || !pssh::capi::cmd_opts_ok(opts))
        return PSSH_E_INVAL;
    return guard([&] { return x->run(&cmd, 1, false, opts, reinterpret_cast<Output **>(outs)); });
}

PSSH_API pssh_err pssh_parallel_run_commands(pssh_parallel *p, const char *const *cmds, size_t ncmds,
                                             const pssh_cmd_opts *opts, pssh_output **outs)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x || (!cmds && ncmds) || !pssh::capi::cmd_opts_ok(opts))
        return PSSH_E_INVAL;
    for (size_t i = 0; i < ncmds; i++)
        if (!cmds[i])
            return PSSH_E_INVAL;
    return guard([&] { return x->run(cmds, ncmds, true, opts, reinterpret_cast<Output **>(outs)); });
}

PSSH_API pssh_err pssh_parallel_open_shells(pssh_parallel *p, const pssh_cmd_opts *opts, pssh_output **outs)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x || !pssh::capi::cmd_opts_ok(opts))
        return PSSH_E_INVAL;
    return guard([&] { return x->open_shells(opts, reinterpret_cast<Output **>(outs)); });
}

PSSH_API pssh_err pssh_parallel_run_shell_commands(pssh_parallel *p, const char *const *lines, size_t n,
                                                   int timeout_ms)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x || (!lines && n))
        return PSSH_E_INVAL;
    for (size_t i = 0; i < n; i++)
        if (!lines[i])
            return PSSH_E_INVAL;
    return guard([&] { return x->shell_run(lines, n, timeout_ms); });
}

PSSH_API pssh_err pssh_parallel_join_shells(pssh_parallel *p, int timeout_ms, size_t *unfinished)
{
    Parallel *x = unwrap<Parallel>(p);
    return x ? guard([&] { return x->join_shells(timeout_ms, unfinished); }) : PSSH_E_INVAL;
}

PSSH_API pssh_err pssh_parallel_connect_auth(pssh_parallel *p)
{
    Parallel *x = unwrap<Parallel>(p);
    return x ? guard([&] { return x->connect_auth(); }) : PSSH_E_INVAL;
}

PSSH_API pssh_err pssh_parallel_join(pssh_parallel *p, int timeout_ms, int consume_output, size_t *unfinished)
{
    Parallel *x = unwrap<Parallel>(p);
    return x ? guard([&] { return x->join(timeout_ms, consume_output != 0, unfinished); }) : PSSH_E_INVAL;
}

PSSH_API int pssh_parallel_finished(const pssh_parallel *p)
{
    const Parallel *x = unwrap<Parallel>(p);
    return x && x->finished();
}

PSSH_API const char *pssh_parallel_error_message(const pssh_parallel *p)
{
    const Parallel *x = unwrap<Parallel>(p);
    return x ? x->error_message().c_str() : "";
}

PSSH_API pssh_err pssh_parallel_host_error(const pssh_parallel *p, size_t i)
{
    const Parallel *x = unwrap<Parallel>(p);
    return x && i < x->size() ? x->host_failure(i).code : PSSH_E_INVAL;
}

PSSH_API const char *pssh_parallel_host_error_message(const pssh_parallel *p, size_t i)
{
    const Parallel *x = unwrap<Parallel>(p);
    return x && i < x->size() ? x->host_failure(i).msg.c_str() : "";
}

} // extern "C"
