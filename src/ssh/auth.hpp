// Authentication as a resumable ladder: the methods to offer are planned
// (and key files read and checked) before connecting, then tried in order
// among those the server allows: key, identity files, agent, default
// identities, password, keyboard-interactive.
#pragma once
#include "../util/failure.hpp"
#include "config.hpp"
#include "pkey.hpp"
#include "signer.hpp"

#include <string>
#include <vector>

struct _LIBSSH2_SESSION;
struct _LIBSSH2_AGENT;
struct libssh2_agent_publickey;

namespace pssh {

class Authenticator {
public:
    Authenticator() = default;
    Authenticator(const Authenticator &) = delete;
    Authenticator &operator=(const Authenticator &) = delete;
    ~Authenticator() { reset(); }

    // Reads the configured keys. A missing or broken configured key is a
    // final error (PSSH_E_PKEY, PSSH_E_PASSPHRASE, PSSH_E_KEY_ALGO,
    // PSSH_E_RESOURCE). The keys parsed are also kept in st.signers, so that
    // the loop's cache holds them as long as the host's settings live.
    pssh_err plan(class Loop &loop, Settings &st, std::string *why);
    // Server's method list from libssh2_userauth_list.
    void begin(const char *server_methods);

    enum class Result { Done, Again, Failed };
    // Failed fills *f with the class and the story of what was tried.
    Result step(_LIBSSH2_SESSION *s, const Settings &st, Failure *f);
    // Frees the agent and key material; the plan can be made again.
    void reset() noexcept;

    // After Result::Failed: the server closed the connection on the first
    // SHA-2 request of an RSA key (rsa-sha2-512: servers on Go's
    // x/crypto/ssh cannot parse that blob and hang up), and the policy
    // allows ssh-rsa. The session should connect again, call
    // set_rsa_sha1_first(true), plan again, and authenticate: RSA keys then
    // go straight to ssh-rsa. Never set while rsa_sha1_first is on, so it
    // asks for one reconnection at most.
    bool wants_rsa_sha1_reconnect() const noexcept { return rsa_reconnect_; }
    // Kept across reset() and plan(): it is what this server needs.
    void set_rsa_sha1_first(bool on) noexcept { rsa_sha1_first_ = on; }

private:
    enum class Kind { Key, Agent, Password, Kbd };
    struct Method {
        Kind kind;
        PrivateKey key;       // Kind::Key
        Ref<Signer> signer;   // the key parsed once, when we can
        size_t rsa_step = 0;  // RSA: the next of rsa_algs() to offer
        std::string blob;     // the public blob being offered
        std::string refused_as; // RSA: the algorithms the server refused
    };
    enum class Outcome { Ok, Again, Next, Retry, Fatal }; // Retry: the same key again, next algorithm
    Outcome try_key(_LIBSSH2_SESSION *s, const Settings &st, Method &m, int *rc);
    Outcome try_libssh2_key(_LIBSSH2_SESSION *s, const Settings &st, Method &m, int *rc);
    Outcome rsa_refused(_LIBSSH2_SESSION *s, const Settings &st, Method &m);
    Outcome try_agent(_LIBSSH2_SESSION *s, const Settings &st, int *rc);
    Outcome classify(int rc);
    size_t rsa_algs(const Settings &st, Signer::Alg out[3]) const;
    void final_failure(const Settings &st, Failure *f);
    bool allowed(Kind k) const;
    void note(const std::string &s);

    std::vector<Method> plan_;
    Signer::Job job_;
    void *signing_ = &job_; // libssh2's sign-callback abstract
    size_t idx_ = 0;
    std::string server_methods_;
    std::string tried_;
    int refused_ = 0;        // attempts the server turned down
    int sha1_only_ = 0;      // RSA keys only libssh2 could sign (SHA-1), refused or not offered
    int other_refused_ = 0;  // refusals of anything else
    bool passphrase_bad_ = false;
    std::string passphrase_msg_;
    bool rsa_reconnect_ = false;
    std::string reconnect_for_; // the key and algorithm the server hung up on
    bool rsa_sha1_first_ = false;
    _LIBSSH2_AGENT *agent_ = nullptr;
    libssh2_agent_publickey *agent_key_ = nullptr;
    int agent_phase_ = 0;
    int agent_keys_ = 0;
};

} // namespace pssh
