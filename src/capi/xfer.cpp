#include "../parallel/parallel.hpp"
#include "../ssh/client.hpp"
#include "../xfer/transfer.hpp"
#include "glue.hpp"

using pssh::Client;
using pssh::Output;
using pssh::Parallel;
using pssh::Ref;
using pssh::Session;
using pssh::Transfer;
using pssh::TransferSpec;
using pssh::capi::guard;
using pssh::capi::unwrap;
using pssh::capi::wrap;

namespace {

bool opts_ok(const pssh_xfer_opts *o) { return !o || o->version == PSSH_XFER_OPTS_VERSION; }

pssh_err one(pssh_client *c, bool scp, bool put, const char *local, const char *remote, const pssh_xfer_opts *opts,
             pssh_output **out)
{
    if (out)
        *out = nullptr;
    Client *cl = unwrap<Client>(c);
    if (!cl || !local || !remote || !opts_ok(opts))
        return PSSH_E_INVAL;
    return guard([&] {
        TransferSpec spec;
        std::string why;
        if (pssh_err rc = pssh::make_transfer_spec(scp, put, local, remote, opts, spec, &why); rc != PSSH_OK)
            return rc;
        Output *o = nullptr;
        pssh_err rc = cl->run_to_end(
            scp ? "scp" : "sftp",
            [&](Ref<Session> s) { return Transfer::create(std::move(s), std::move(spec)); }, out ? &o : nullptr);
        if (out)
            *out = wrap<pssh_output>(o);
        return rc;
    });
}

pssh_err many(pssh_parallel *p, bool scp, bool put, const char *local, const char *remote, const char *sep,
              const pssh_copy_arg *args, size_t nargs, const pssh_xfer_opts *opts, pssh_output **outs)
{
    Parallel *x = unwrap<Parallel>(p);
    if (!x || (!args && (!local || !remote)) || (!args && nargs) || !opts_ok(opts))
        return PSSH_E_INVAL;
    for (size_t i = 0; args && i < nargs; i++)
        if (!args[i].local || !args[i].remote)
            return PSSH_E_INVAL;
    return guard([&] {
        return x->copy(scp, put, local, remote, args, nargs, sep, opts, reinterpret_cast<Output **>(outs));
    });
}

} // namespace

extern "C" {

PSSH_API pssh_err pssh_client_copy_file(pssh_client *c, const char *local, const char *remote,
                                        const pssh_xfer_opts *opts, pssh_output **out)
{
    return one(c, false, true, local, remote, opts, out);
}

PSSH_API pssh_err pssh_client_copy_remote_file(pssh_client *c, const char *remote, const char *local,
                                               const pssh_xfer_opts *opts, pssh_output **out)
{
    return one(c, false, false, local, remote, opts, out);
}

PSSH_API pssh_err pssh_client_scp_send(pssh_client *c, const char *local, const char *remote,
                                       const pssh_xfer_opts *opts, pssh_output **out)
{
    return one(c, true, true, local, remote, opts, out);
}

PSSH_API pssh_err pssh_client_scp_recv(pssh_client *c, const char *remote, const char *local,
                                       const pssh_xfer_opts *opts, pssh_output **out)
{
    return one(c, true, false, local, remote, opts, out);
}

PSSH_API pssh_err pssh_parallel_copy_file(pssh_parallel *p, const char *local, const char *remote,
                                          const pssh_copy_arg *args, size_t nargs, const pssh_xfer_opts *opts,
                                          pssh_output **outs)
{
    return many(p, false, true, local, remote, nullptr, args, nargs, opts, outs);
}

PSSH_API pssh_err pssh_parallel_copy_remote_file(pssh_parallel *p, const char *remote, const char *local,
                                                 const char *sep, const pssh_copy_arg *args, size_t nargs,
                                                 const pssh_xfer_opts *opts, pssh_output **outs)
{
    return many(p, false, false, local, remote, sep, args, nargs, opts, outs);
}

PSSH_API pssh_err pssh_parallel_scp_send(pssh_parallel *p, const char *local, const char *remote,
                                         const pssh_copy_arg *args, size_t nargs, const pssh_xfer_opts *opts,
                                         pssh_output **outs)
{
    return many(p, true, true, local, remote, nullptr, args, nargs, opts, outs);
}

PSSH_API pssh_err pssh_parallel_scp_recv(pssh_parallel *p, const char *remote, const char *local,
                                         const char *sep, const pssh_copy_arg *args, size_t nargs,
                                         const pssh_xfer_opts *opts, pssh_output **outs)
{
    return many(p, true, false, local, remote, sep, args, nargs, opts, outs);
}

PSSH_API pssh_err pssh_output_transfer_stats(const pssh_output *o, pssh_transfer_stats *st)
{
    const Output *out = unwrap<Output>(o);
    if (!out || !st || st->version != PSSH_TRANSFER_STATS_VERSION)
        return PSSH_E_INVAL;
    uint64_t done, total;
    double ms;
    out->transfer_stats(&done, &total, &ms);
    st->bytes = done;
    st->total = total;
    st->transfer_ms = ms;
    return PSSH_OK;
}

} // extern "C"
