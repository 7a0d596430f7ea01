#include "../ssh/client.hpp"
#include "glue.hpp"

using pssh::Client;
using pssh::Config;
using pssh::Loop;
using pssh::Output;
using pssh::capi::guard;
using pssh::capi::unwrap;
using pssh::capi::wrap;

extern "C" {

PSSH_API pssh_err pssh_client_new(pssh_loop *loop, const char *host, const pssh_config *cfg,
                                  pssh_client **out)
{
    if (!out)
        return PSSH_E_INVAL;
    *out = nullptr;
    Loop *l = unwrap<Loop>(loop);
    const Config *c = pssh::capi::config_of(cfg);
    if ((loop && !l) || (cfg && !c) || !host)
        return PSSH_E_INVAL;
    return guard([&] {
        Client *cl = nullptr;
        pssh_err rc = Client::create(l, host, c, &cl);
        *out = wrap<pssh_client>(cl);
        return rc;
    });
}

PSSH_API pssh_client *pssh_client_ref(pssh_client *c)
{
    if (Client *cl = unwrap<Client>(c))
        cl->ref();
    return c;
}

PSSH_API pssh_client *pssh_client_unref(pssh_client *c)
{
    if (Client *cl = unwrap<Client>(c))
        cl->unref();
    return nullptr;
}

PSSH_API pssh_err pssh_client_connect(pssh_client *c)
{
    Client *cl = unwrap<Client>(c);
    return cl ? guard([&] { return cl->connect(); }) : PSSH_E_INVAL;
}

PSSH_API pssh_err pssh_client_run_command(pssh_client *c, const char *cmd, const pssh_cmd_opts *opts,
                                          pssh_output **out)
{
    if (out)
        *out = nullptr;
    Client *cl = unwrap<Client>(c);
    if (!cl || !cmd || !out || !pssh::capi::cmd_opts_ok(opts))
        return PSSH_E_INVAL;
    return guard([&] {
        Output *o = nullptr;
        pssh_err rc = cl->run_command(cmd, opts, &o);
        *out = wrap<pssh_output>(o);
        return rc;
    });
}

PSSH_API pssh_err pssh_client_open_shell(pssh_client *c, const pssh_cmd_opts *opts, pssh_output **out)
{
    if (out)
        *out = nullptr;
    Client *cl = unwrap<Client>(c);
    if (!cl || !out || !pssh::capi::cmd_opts_ok(opts))
        return PSSH_E_INVAL;
    return guard([&] {
        Output *o = nullptr;
        pssh_err rc = cl->open_shell(opts, &o);
        *out = wrap<pssh_output>(o);
        return rc;
    });
}

PSSH_API pssh_err pssh_client_execute(pssh_client *c, const char *cmd, const pssh_cmd_opts *opts,
                                      pssh_output **out)
{
    return pssh_client_run_command(c, cmd, opts, out);
}

PSSH_API pssh_err pssh_client_disconnect(pssh_client *c) { return unwrap<Client>(c) ? PSSH_OK : PSSH_E_INVAL; }

PSSH_API const char *pssh_client_error_message(const pssh_client *c)
{
    const Client *cl = unwrap<Client>(c);
    return cl ? cl->error_message().c_str() : "";
}

PSSH_API int pssh_client_attempts(const pssh_client *c)
{
    const Client *cl = unwrap<Client>(c);
    return cl ? cl->attempts() : 0;
}

PSSH_API const char *pssh_client_host(const pssh_client *c)
{
    const Client *cl = unwrap<Client>(c);
    return cl ? cl->host().c_str() : "";
}

PSSH_API const char *pssh_client_alias(const pssh_client *c)
{
    const Client *cl = unwrap<Client>(c);
    return cl ? cl->alias().c_str() : "";
}

PSSH_API pssh_loop *pssh_client_loop(const pssh_client *c)
{
    const Client *cl = unwrap<Client>(c);
    return cl ? wrap<pssh_loop>(&cl->loop()) : nullptr;
}

PSSH_API struct _LIBSSH2_SESSION *pssh_client_session(pssh_client *c)
{
    Client *cl = unwrap<Client>(c);
    return cl ? cl->raw_session() : nullptr;
}

PSSH_API pssh_err pssh_client_eagain(pssh_client *c, pssh_eagain_fn *fn, void *arg, int timeout_ms, int *rc)
{
    Client *cl = unwrap<Client>(c);
    if (!cl || !fn)
        return PSSH_E_INVAL;
    return guard([&] { return cl->eagain(fn, arg, timeout_ms, rc); });
}

PSSH_API pssh_err pssh_client_eagain_write(pssh_client *c, pssh_eagain_write_fn *fn, void *arg,
                                           const void *buf, size_t len, int timeout_ms, size_t *written,
                                           long *rc)
{
    Client *cl = unwrap<Client>(c);
    if (!cl || !fn || (!buf && len))
        return PSSH_E_INVAL;
    return guard([&] { return cl->eagain_write(fn, arg, buf, len, timeout_ms, written, rc); });
}

} // extern "C"
