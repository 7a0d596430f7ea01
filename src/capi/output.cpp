#include "../ssh/output.hpp"
#include "glue.hpp"

using pssh::Output;
using pssh::capi::guard;
using pssh::capi::unwrap;

namespace {
bool stream_ok(const pssh_stream &s)
{
    int v = pssh::capi::enum_value(s);
    return v == PSSH_STDOUT || v == PSSH_STDERR;
}
} // namespace

extern "C" {

PSSH_API pssh_output *pssh_output_ref(pssh_output *o)
{
    if (Output *out = unwrap<Output>(o))
        out->ref();
    return o;
}

PSSH_API pssh_output *pssh_output_unref(pssh_output *o)
{
    if (Output *out = unwrap<Output>(o))
        out->unref();
    return nullptr;
}

PSSH_API const char *pssh_output_host(const pssh_output *o)
{
    const Output *out = unwrap<Output>(o);
    return out ? out->session().settings().given.c_str() : "";
}

PSSH_API const char *pssh_output_alias(const pssh_output *o)
{
    const Output *out = unwrap<Output>(o);
    return out ? out->session().settings().display.c_str() : "";
}

PSSH_API pssh_err pssh_output_read_line(pssh_output *o, pssh_stream stream, const char **line, size_t *len,
                                        int timeout_ms)
{
    Output *out = unwrap<Output>(o);
    if (!out || !stream_ok(stream) || !line || !len)
        return PSSH_E_INVAL;
    return guard([&] { return out->read_line(stream, line, len, timeout_ms); });
}

PSSH_API pssh_err pssh_output_read(pssh_output *o, pssh_stream stream, void *buf, size_t cap, size_t *n,
                                   int timeout_ms)
{
    Output *out = unwrap<Output>(o);
    if (!out || !stream_ok(stream) || !buf || !cap || !n)
        return PSSH_E_INVAL;
    return guard([&] { return out->read(stream, buf, cap, n, timeout_ms); });
}

PSSH_API pssh_err pssh_output_write_stdin(pssh_output *o, const void *buf, size_t len, int timeout_ms,
                                          size_t *written)
{
    Output *out = unwrap<Output>(o);
    if (!out || (!buf && len))
        return PSSH_E_INVAL;
    return guard([&] { return out->write_stdin(buf, len, timeout_ms, written); });
}

PSSH_API pssh_err pssh_output_shell_run(pssh_output *o, const char *line, int timeout_ms)
{
    Output *out = unwrap<Output>(o);
    if (!out || !line)
        return PSSH_E_INVAL;
    return guard([&] { return out->shell_run(line, strlen(line), timeout_ms); });
}

PSSH_API pssh_err pssh_output_close_stdin(pssh_output *o, int timeout_ms)
{
    Output *out = unwrap<Output>(o);
    return out ? guard([&] { return out->close_stdin(timeout_ms); }) : PSSH_E_INVAL;
}

PSSH_API pssh_err pssh_output_wait(pssh_output *o, int timeout_ms, int discard)
{
    Output *out = unwrap<Output>(o);
    return out ? guard([&] { return out->wait(timeout_ms, discard != 0); }) : PSSH_E_INVAL;
}

PSSH_API pssh_err pssh_output_close(pssh_output *o)
{
    Output *out = unwrap<Output>(o);
    if (!out)
        return PSSH_E_INVAL;
    return guard([&] {
        out->close();
        return PSSH_OK;
    });
}

PSSH_API int pssh_output_attempts(const pssh_output *o)
{
    const Output *out = unwrap<Output>(o);
    return out ? out->session().attempts() : 0;
}

PSSH_API int pssh_output_finished(const pssh_output *o)
{
    const Output *out = unwrap<Output>(o);
    return out && out->finished();
}

PSSH_API int pssh_output_exit_code(const pssh_output *o)
{
    const Output *out = unwrap<Output>(o);
    return out ? out->exit_code() : -1;
}

PSSH_API const char *pssh_output_exit_signal(const pssh_output *o)
{
    const Output *out = unwrap<Output>(o);
    return out ? out->exit_signal() : nullptr;
}

PSSH_API pssh_err pssh_output_error(const pssh_output *o)
{
    const Output *out = unwrap<Output>(o);
    return out ? out->failure().code : PSSH_E_INVAL;
}

PSSH_API const char *pssh_output_error_message(const pssh_output *o)
{
    const Output *out = unwrap<Output>(o);
    return out ? out->failure().msg.c_str() : "";
}

PSSH_API pssh_err pssh_output_timings(const pssh_output *o, pssh_timings *t)
{
    const Output *out = unwrap<Output>(o);
    if (!out || !t)
        return PSSH_E_INVAL;
    out->timings(t);
    return PSSH_OK;
}

PSSH_API struct _LIBSSH2_CHANNEL *pssh_output_channel(pssh_output *o)
{
    Output *out = unwrap<Output>(o);
    return out ? out->channel() : nullptr;
}

} // extern "C"
