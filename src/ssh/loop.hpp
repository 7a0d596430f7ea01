// The public pssh_loop: a reactor, a resolver started on first use, and the
// log sink. Everything made on a loop holds a reference to it.
#pragma once
#include "../config/ssh_config_cache.hpp"
#include "../net/resolve.hpp"
#include "../reactor/reactor.hpp"
#include "known_hosts_cache.hpp"
#include "tunnel.hpp"
#include "../util/ref.hpp"
#include "pssh/pssh.h"

#include <memory>
#include <string>
#include <unordered_map>

namespace pssh {

// libssh2_init is not thread-safe: run it once per process.
bool init_libssh2_once();

class Loop final : public RefCounted {
public:
    static constexpr uint32_t kMagic = 0x70737331; // "pss1"
    uint32_t magic = kMagic;

    // nullptr with *err set on failure.
    static Loop *create(pssh_err *err);
    // The caller's loop (a new reference), or a new one when it gave none.
    static Ref<Loop> given_or_new(Loop *given, pssh_err *err);

    Reactor &reactor() noexcept { return reactor_; }
    // The key parsed once for every connection of this loop, kept while
    // some Settings holds it (nothing when libssh2 has to handle it). Errors
    // as Signer::make.
    pssh_err signer_for(const struct PrivateKey &key, const struct Secret *passphrase, Ref<class Signer> &out,
                        std::string *why);
    // Keys parsed and held (for tests).
    size_t cached_signers() const noexcept;
    Resolver &resolver();
    // known_hosts files, parsed once for every connection of this loop.
    KnownHostsCache &known_hosts() noexcept { return known_hosts_; }
    // ssh_config files, parsed once for every host of this loop.
    SshConfigCache &ssh_configs() noexcept { return ssh_configs_; }
    // Streams through proxies: the forwarder threads of this loop, made on
    // first use (src/tunnel), or what set_tunnels() installed (a
    // forwarder's own loop reaches its hop through the previous hop).
    TunnelProvider &tunnels();
    void set_tunnels(std::unique_ptr<TunnelProvider> p) noexcept { tunnels_ = std::move(p); }
    // The most verbose level logged (-1: none), for loops that log here.
    int log_level() const noexcept { return log_fn_ ? int(log_max_) : -1; }

    void set_log(pssh_log_level max, pssh_log_fn *fn, void *userdata) noexcept
    {
        log_max_ = max;
        log_fn_ = fn;
        log_ud_ = userdata;
    }
    bool logs(pssh_log_level level) const noexcept { return log_fn_ && level <= log_max_; }
    void log(pssh_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

    // Runs the loop until done() or the deadline: PSSH_OK, PSSH_E_TIMEOUT,
    // PSSH_E_BUSY when called from inside a callback, or a backend error.
    template <class Done> pssh_err run_until(Done done, Nanos deadline)
    {
        if (busy())
            return PSSH_E_BUSY;
        bool turned = false; // a zero timeout still runs one turn without waiting
        while (!done()) {
            Nanos now = now_ns();
            int wait = -1;
            if (now >= deadline) {
                if (turned)
                    return PSSH_E_TIMEOUT;
                wait = 0;
            } else if (deadline != kNever) {
                Nanos left = (deadline - now + 999999) / 1000000;
                wait = left > INT32_MAX ? INT32_MAX : int(left);
            }
            if (reactor_.run_once(wait) < 0)
                return PSSH_E_INTERNAL;
            turned = true;
        }
        return PSSH_OK;
    }

    // A call that can also return a host's error class reports its own
    // timeout as PSSH_E_AGAIN, so that PSSH_E_TIMEOUT from it always means
    // the host's deadline.
    template <class Done> pssh_err wait_until(Done done, Nanos deadline)
    {
        pssh_err rc = run_until(done, deadline);
        return rc == PSSH_E_TIMEOUT ? PSSH_E_AGAIN : rc;
    }

    // True inside a libpssh callback: blocking calls answer PSSH_E_BUSY, and
    // they check this first, before they change anything. Callbacks can run
    // outside the reactor's dispatch too (a log line written by a blocking
    // call itself), so each one is marked with a CallbackScope.
    bool busy() const noexcept { return reactor_.dispatching() || callbacks_ > 0; }
    class CallbackScope {
    public:
        explicit CallbackScope(Loop &l) noexcept : l_(l) { ++l_.callbacks_; }
        ~CallbackScope() { --l_.callbacks_; }
        CallbackScope(const CallbackScope &) = delete;
        CallbackScope &operator=(const CallbackScope &) = delete;

    private:
        Loop &l_;
    };

    // pssh_loop_run_once / pssh_loop_run.
    pssh_err run_once(int timeout_ms);
    pssh_err run(int timeout_ms);

private:
    Loop() = default;
    ~Loop() override;

    Reactor reactor_;
    std::unique_ptr<Resolver> resolver_;
    std::unique_ptr<TunnelProvider> tunnels_;
    Ref<class SignerCache> signers_; // made on first use
    KnownHostsCache known_hosts_;
    SshConfigCache ssh_configs_;
    pssh_log_fn *log_fn_ = nullptr;
    void *log_ud_ = nullptr;
    pssh_log_level log_max_ = PSSH_LOG_ERROR;
    int callbacks_ = 0; // user callbacks on the stack
};

} // namespace pssh
