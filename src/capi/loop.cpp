#include "../ssh/loop.hpp"
#include "glue.hpp"

using pssh::Loop;
using pssh::capi::guard;
using pssh::capi::unwrap;
using pssh::capi::wrap;

extern "C" {

PSSH_API pssh_err pssh_loop_new(pssh_loop **out)
{
    if (!out)
        return PSSH_E_INVAL;
    *out = nullptr;
    return guard([&] {
        pssh_err err;
        Loop *l = Loop::create(&err);
        *out = wrap<pssh_loop>(l);
        return err;
    });
}

PSSH_API pssh_loop *pssh_loop_ref(pssh_loop *loop)
{
    if (Loop *l = unwrap<Loop>(loop))
        l->ref();
    return loop;
}

PSSH_API pssh_loop *pssh_loop_unref(pssh_loop *loop)
{
    if (Loop *l = unwrap<Loop>(loop))
        l->unref();
    return nullptr;
}

PSSH_API pssh_err pssh_loop_set_log(pssh_loop *loop, pssh_log_level max, pssh_log_fn *fn, void *userdata)
{
    Loop *l = unwrap<Loop>(loop);
    int m = pssh::capi::enum_value(max);
    if (!l || m < PSSH_LOG_ERROR || m > PSSH_LOG_TRACE)
        return PSSH_E_INVAL;
    l->set_log(max, fn, userdata);
    return PSSH_OK;
}

PSSH_API int pssh_loop_fd(const pssh_loop *loop)
{
    Loop *l = const_cast<Loop *>(unwrap<Loop>(loop));
    return l ? l->reactor().fd() : -1;
}

PSSH_API int pssh_loop_timeout_ms(const pssh_loop *loop)
{
    const Loop *l = unwrap<Loop>(loop);
    return l ? const_cast<Loop *>(l)->reactor().timeout_ms() : -1;
}

PSSH_API pssh_err pssh_loop_run_once(pssh_loop *loop, int timeout_ms)
{
    Loop *l = unwrap<Loop>(loop);
    if (!l)
        return PSSH_E_INVAL;
    return guard([&] { return l->run_once(timeout_ms); });
}

PSSH_API pssh_err pssh_loop_run(pssh_loop *loop, int timeout_ms)
{
    Loop *l = unwrap<Loop>(loop);
    if (!l)
        return PSSH_E_INVAL;
    return guard([&] { return l->run(timeout_ms); });
}

PSSH_API pssh_err pssh_loop_wakeup(pssh_loop *loop)
{
    Loop *l = unwrap<Loop>(loop);
    if (!l)
        return PSSH_E_INVAL;
    l->reactor().wakeup();
    return PSSH_OK;
}

} // extern "C"
