#include "loop.hpp"

#include "signer_cache.hpp"
#include "../tunnel/forwarders.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <libssh2.h>
#include <mutex>

namespace pssh {

bool init_libssh2_once()
{
    static std::once_flag once;
    static int rc = -1;
    std::call_once(once, [] { rc = libssh2_init(0); });
    return rc == 0;
}

namespace {

// PSSH_DEBUG=error|warn|info|debug|trace (or 0-4) logs every loop of the
// process to stderr until the caller sets its own sink.
void stderr_log(pssh_log_level level, const char *msg, void *)
{
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    fprintf(stderr, "libpssh %s: %s\n", names[level], msg);
}

int debug_level_from_env()
{
    const char *v = getenv("PSSH_DEBUG");
    if (!v || !*v)
        return -1;
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++)
        if (strcmp(v, names[i]) == 0 || (v[0] == '0' + i && !v[1]))
            return i;
    return PSSH_LOG_DEBUG;
}

} // namespace

Loop *Loop::create(pssh_err *err)
{
    if (!init_libssh2_once()) {
        *err = PSSH_E_INTERNAL;
        return nullptr;
    }
    auto *l = new (std::nothrow) Loop();
    if (!l) {
        *err = PSSH_E_NOMEM;
        return nullptr;
    }
    if (l->reactor_.init() < 0) {
        delete l;
        *err = PSSH_E_RESOURCE;
        return nullptr;
    }
    if (int lvl = debug_level_from_env(); lvl >= 0)
        l->set_log(pssh_log_level(lvl), stderr_log, nullptr);
    *err = PSSH_OK;
    return l;
}

Ref<Loop> Loop::given_or_new(Loop *given, pssh_err *err)
{
    *err = PSSH_OK;
    return given ? Ref<Loop>::share(given) : Ref<Loop>::adopt(create(err));
}

Loop::~Loop()
{
    magic = 0;
    tunnels_.reset(); // every forwarder is gone already: they hold connections of ours
    resolver_.reset(); // joins its threads before the reactor goes
}

TunnelProvider &Loop::tunnels()
{
    if (!tunnels_)
        tunnels_ = make_forwarders(*this);
    return *tunnels_;
}

Resolver &Loop::resolver()
{
    if (!resolver_)
        resolver_ = std::make_unique<Resolver>(reactor_);
    return *resolver_;
}

pssh_err Loop::signer_for(const PrivateKey &key, const Secret *passphrase, Ref<Signer> &out, std::string *why)
{
    if (!signers_)
        signers_ = Ref<SignerCache>::adopt(new (std::nothrow) SignerCache());
    if (!signers_)
        return Signer::make(key, passphrase, out, why);
    return signers_->get(key, passphrase, out, why);
}

size_t Loop::cached_signers() const noexcept { return signers_ ? signers_->size() : 0; }

// Both hold the loop while they run: a callback may release the caller's
// last handle to it.
pssh_err Loop::run_once(int timeout_ms)
{
    if (busy())
        return PSSH_E_BUSY;
    Ref<Loop> self = Ref<Loop>::share(this);
    return reactor_.run_once(timeout_ms) < 0 ? PSSH_E_INTERNAL : PSSH_OK;
}

// Done when nothing is in progress and nothing is due now; idle
// connections' keepalive timers do not count.
pssh_err Loop::run(int timeout_ms)
{
    Ref<Loop> self = Ref<Loop>::share(this);
    return run_until([this] { return reactor_.active() == 0 && reactor_.timeout_ms() != 0; },
                     deadline_after_ms(timeout_ms));
}

void Loop::log(pssh_log_level level, const char *fmt, ...)
{
    if (!logs(level))
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    Ref<Loop> self = Ref<Loop>::share(this); // the callback may release our last holder
    CallbackScope scope(*this);
    log_fn_(level, buf, log_ud_);
}

} // namespace pssh
