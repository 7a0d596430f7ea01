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
    // final error (PSSH_E_PKEY, PSSH_E_PASSPHRASE, PSSH_E_RESOURCE).
    pssh_err plan(class Loop &loop, const Settings &st, std::string *why);
    // Server's method list from libssh2_userauth_list.
    void begin(const char *server_methods);

    enum class Result { Done, Again, Failed };
    // Failed fills *f with the class and the story of what was tried.
    Result step(_LIBSSH2_SESSION *s, const Settings &st, Failure *f);
    // Frees the agent and key material; the plan can be made again.
    void reset() noexcept;

private:
    enum class Kind { Key, Agent, Password, Kbd };
    struct Method {
        Kind kind;
        PrivateKey key;       // Kind::Key
        Ref<Signer> signer;   // the key parsed once, when we can
    };
    enum class Outcome { Ok, Again, Next, Fatal };
    Outcome try_key(_LIBSSH2_SESSION *s, const Settings &st, Method &m, int *rc);
    Outcome try_agent(_LIBSSH2_SESSION *s, const Settings &st, int *rc);
    Outcome classify(int rc);
    void final_failure(const Settings &st, Failure *f);
    bool allowed(Kind k) const;
    void note(const std::string &s);

    std::vector<Method> plan_;
    Signer *signing_ = nullptr; // libssh2's sign-callback abstract
    size_t idx_ = 0;
    std::string server_methods_;
    std::string tried_;
    int refused_ = 0;        // attempts the server turned down
    int rsa_refused_ = 0;    // of which RSA keys
    int other_refused_ = 0;  // of which anything else
    bool passphrase_bad_ = false;
    std::string passphrase_msg_;
    _LIBSSH2_AGENT *agent_ = nullptr;
    libssh2_agent_publickey *agent_key_ = nullptr;
    int agent_phase_ = 0;
    int agent_keys_ = 0;
};

} // namespace pssh
