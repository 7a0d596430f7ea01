#include "auth.hpp"
#include "wiping_alloc.hpp"

#include "loop.hpp"
#include "session.hpp"

#include <cstdlib>
#include <cstring>
#include <libssh2.h>

namespace pssh {

namespace {

// libssh2 passes the session's abstract pointer: our Session.
void kbd_answer(const char *, int, const char *, int, int num_prompts,
                const LIBSSH2_USERAUTH_KBDINT_PROMPT *, LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses,
                void **abstract)
{
    const std::string &pw = static_cast<const Session *>(*abstract)->password();
    for (int i = 0; i < num_prompts; i++) {
        // libssh2 frees these copies (and the packet it built from them)
        // with the session's free hook, which wipes them: allocated to match.
        char *copy = static_cast<char *>(wiping_alloc(pw.size() + 1, nullptr));
        if (copy)
            memcpy(copy, pw.c_str(), pw.size() + 1);
        responses[i].text = copy;
        responses[i].length = copy ? unsigned(pw.size()) : 0;
    }
}

// libssh2 1.10 reports a connection closed while it waited for the answer
// to a public-key request with the code of a refused signature
// (PUBLICKEY_UNVERIFIED); only its message ("Waiting for ... USERAUTH
// response") and the socket tell the two apart.
bool connection_lost(LIBSSH2_SESSION *s, int rc)
{
    if (rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
        return false;
    const auto *sess = static_cast<const Session *>(*libssh2_session_abstract(s));
    return libssh2_message(s).rfind("Waiting for", 0) == 0 || (sess && !sess->socket_alive());
}

void log_debug(LIBSSH2_SESSION *s, const std::string &msg)
{
    const auto *sess = static_cast<const Session *>(*libssh2_session_abstract(s));
    if (sess)
        sess->loop().log(PSSH_LOG_DEBUG, "%s: auth: %s", sess->settings().display.c_str(), msg.c_str());
}

const char *kind_name(int k)
{
    static const char *names[] = {"publickey", "agent", "password", "keyboard-interactive"};
    return names[k];
}

} // namespace

void Authenticator::reset() noexcept
{
    if (agent_) {
        libssh2_agent_disconnect(agent_);
        libssh2_agent_free(agent_);
        agent_ = nullptr;
    }
    agent_key_ = nullptr;
    agent_phase_ = agent_keys_ = 0;
    plan_.clear();
    idx_ = 0;
    server_methods_.clear();
    tried_.clear();
    refused_ = sha1_only_ = other_refused_ = 0;
    passphrase_bad_ = false;
    passphrase_msg_.clear();
    rsa_reconnect_ = false;
    reconnect_for_.clear();
    job_ = {};
}

pssh_err Authenticator::plan(Loop &loop, Settings &st, std::string *why)
{
    reset();
    const Config &c = st.cfg;
    const Secret *pass = c.has_passphrase ? &c.passphrase : nullptr;
    std::vector<Ref<Signer>> held;
    auto add_key = [&](Method &m, bool best_effort) {
        pssh_err rc = loop.signer_for(m.key, pass, m.signer, best_effort ? nullptr : why);
        if (rc != PSSH_OK)
            return rc;
        if (m.signer)
            held.push_back(m.signer);
        plan_.push_back(std::move(m));
        return PSSH_OK;
    };
    if (c.has(Config::kPkey)) {
        Method m{Kind::Key, {}, {}, 0, {}, {}};
        pssh_err rc;
        if (c.pkey_path.empty()) {
            m.key.origin = "key in memory";
            m.key.data = c.pkey_data;
            rc = sniff_private_key(m.key, pass, why);
        } else {
            rc = load_private_key_file(c.pkey_path, pass, m.key, why);
        }
        if (rc != PSSH_OK || (rc = add_key(m, false)) != PSSH_OK)
            return rc;
    }
    for (const std::string &path : c.identity_files) {
        Method m{Kind::Key, {}, {}, 0, {}, {}};
        pssh_err rc = load_private_key_file(path, pass, m.key, why);
        if (rc != PSSH_OK || (rc = add_key(m, false)) != PSSH_OK)
            return rc;
    }
    if (c.agent)
        plan_.push_back(Method{Kind::Agent, {}, {}, 0, {}, {}});
    if (c.default_identities && !c.has(Config::kPkey) && c.identity_files.empty()) {
        // Best effort, as ssh does: missing, encrypted or broken defaults
        // are skipped.
        for (const char *name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
            Method m{Kind::Key, {}, {}, 0, {}, {}};
            if (load_private_key_file(home_dir() + "/.ssh/" + name, pass, m.key, nullptr) == PSSH_OK)
                add_key(m, true);
        }
    }
    if (c.has(Config::kPassword)) {
        plan_.push_back(Method{Kind::Password, {}, {}, 0, {}, {}});
        plan_.push_back(Method{Kind::Kbd, {}, {}, 0, {}, {}});
    }
    st.signers = std::move(held);
    return PSSH_OK;
}

void Authenticator::begin(const char *server_methods)
{
    server_methods_ = server_methods ? server_methods : "";
    idx_ = 0;
}

bool Authenticator::allowed(Kind k) const
{
    const char *want = k == Kind::Password ? "password"
                       : k == Kind::Kbd    ? "keyboard-interactive"
                                           : "publickey";
    // The list is comma separated; match whole names only.
    size_t n = strlen(want), pos = 0;
    while ((pos = server_methods_.find(want, pos)) != std::string::npos) {
        bool start = pos == 0 || server_methods_[pos - 1] == ',';
        bool end = pos + n == server_methods_.size() || server_methods_[pos + n] == ',';
        if (start && end)
            return true;
        pos += n;
    }
    return false;
}

void Authenticator::note(const std::string &s)
{
    if (!tried_.empty())
        tried_ += "; ";
    tried_ += s;
}

// Refusals move on to the next method; anything else ends authentication.
Authenticator::Outcome Authenticator::classify(int rc)
{
    switch (rc) {
    case 0:
        return Outcome::Ok;
    case LIBSSH2_ERROR_EAGAIN:
        return Outcome::Again;
    case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
    case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
    case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
    case LIBSSH2_ERROR_PASSWORD_EXPIRED:
    case LIBSSH2_ERROR_FILE:
    case LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
    case LIBSSH2_ERROR_AGENT_PROTOCOL:
    case LIBSSH2_ERROR_PUBLICKEY_PROTOCOL:
        return Outcome::Next;
    default:
        return Outcome::Fatal;
    }
}

// RSA keys are offered with SHA-2 first; ssh-rsa (SHA-1) last, where the
// policy allows it. Each refusal counts against the server's MaxAuthTries.
size_t Authenticator::rsa_algs(const Settings &st, Signer::Alg out[3]) const
{
    size_t n = 0;
    if (!rsa_sha1_first_) {
        out[n++] = Signer::Alg::RsaSha512;
        out[n++] = Signer::Alg::RsaSha256;
    }
    if (st.cfg.rsa_sha1)
        out[n++] = Signer::Alg::RsaSha1;
    return n;
}

Authenticator::Outcome Authenticator::try_key(_LIBSSH2_SESSION *s, const Settings &st, Method &m, int *rc)
{
    if (!m.signer)
        return try_libssh2_key(s, st, m, rc);
    Signer::Alg alg = Signer::Alg::Native;
    if (m.signer->is_rsa()) {
        Signer::Alg algs[3];
        if (m.rsa_step >= rsa_algs(st, algs))
            return Outcome::Next;
        alg = algs[m.rsa_step];
    }
    if (m.blob.empty()) // kept while libssh2 says EAGAIN: the same request resumes
        m.blob = m.signer->public_blob(alg);
    job_ = {m.signer.get(), alg};
    *rc = libssh2_userauth_publickey(s, st.user.c_str(), reinterpret_cast<const unsigned char *>(m.blob.data()),
                                     m.blob.size(), Signer::sign_cb, &signing_);
    Outcome o = classify(*rc);
    if (o == Outcome::Again)
        return o;
    m.blob.clear();
    const bool rsa = m.signer->is_rsa();
    const std::string what = m.key.origin + " (" + m.key.type + (rsa ? std::string(" as ") + Signer::alg_name(alg) : "") + ")";
    if (o == Outcome::Ok) {
        log_debug(s, what + " accepted");
        return o;
    }
    if (o != Outcome::Next)
        return o;
    refused_++;
    if (connection_lost(s, *rc)) {
        note(what + ": the server closed the connection");
        // Only the first SHA-2 request: a close after refusals is the
        // server's MaxAuthTries, not a blob it cannot parse.
        if (rsa && m.rsa_step == 0 && alg != Signer::Alg::RsaSha1 && st.cfg.rsa_sha1) {
            rsa_reconnect_ = true;
            reconnect_for_ = what;
        }
        *rc = LIBSSH2_ERROR_SOCKET_DISCONNECT;
        return Outcome::Fatal;
    }
    if (rsa) {
        m.refused_as += std::string(m.refused_as.empty() ? "" : ", ") + Signer::alg_name(alg);
        return rsa_refused(s, st, m);
    }
    other_refused_++;
    note(what + " refused");
    return o;
}

// The next algorithm for the same key, or the story of its refusals.
Authenticator::Outcome Authenticator::rsa_refused(_LIBSSH2_SESSION *s, const Settings &st, Method &m)
{
    Signer::Alg algs[3];
    if (++m.rsa_step < rsa_algs(st, algs)) {
        log_debug(s, m.key.origin + " refused as " + m.refused_as + "; trying " +
                         Signer::alg_name(algs[m.rsa_step]));
        return Outcome::Retry;
    }
    other_refused_++;
    note(m.key.origin + " (ssh-rsa) refused as " + m.refused_as +
         (st.cfg.rsa_sha1 ? "" : " (ssh-rsa with SHA-1 not tried: off by pssh_config_set_rsa_sha1)"));
    return Outcome::Next;
}

// Keys we could not parse (encrypted OpenSSH format, DSA, RSA on libssh2
// 1.11+): libssh2 reads and signs them itself.
Authenticator::Outcome Authenticator::try_libssh2_key(_LIBSSH2_SESSION *s, const Settings &st, Method &m, int *rc)
{
    const Config &c = st.cfg;
    const bool sha1_rsa = key_type_is_rsa(m.key.type) && !libssh2_signs_rsa_sha2();
    if (sha1_rsa && !c.rsa_sha1) {
        // libssh2 1.10 would sign it with ssh-rsa (SHA-1) only.
        sha1_only_++;
        note(m.key.origin + " (ssh-rsa) not offered: libssh2 1.10 can sign an encrypted OpenSSH-format RSA key "
                            "only with ssh-rsa (SHA-1), off by pssh_config_set_rsa_sha1");
        *rc = 0;
        return Outcome::Next;
    }
    const char *pass = c.has_passphrase ? c.passphrase.value.c_str() : nullptr;
    const std::string &key = m.key.data.value;
    *rc = libssh2_userauth_publickey_frommemory(s, st.user.data(), st.user.size(), nullptr, 0, key.data(),
                                                key.size(), pass);
    Outcome o = classify(*rc);
    if (o != Outcome::Next)
        return o;
    if (*rc == LIBSSH2_ERROR_FILE || *rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED) {
        // libssh2 could not use the key it was given: for an encrypted key
        // that is the passphrase (the format was checked before).
        if (m.key.encrypted) {
            passphrase_bad_ = true;
            passphrase_msg_ = m.key.origin + ": wrong passphrase for encrypted key";
            note(m.key.origin + " (" + m.key.type + "): wrong passphrase");
        } else {
            note(m.key.origin + " (" + m.key.type + "): libssh2 cannot use it: " + libssh2_message(s));
        }
        return o;
    }
    refused_++;
    if (connection_lost(s, *rc)) {
        note(m.key.origin + " (" + m.key.type + "): the server closed the connection");
        *rc = LIBSSH2_ERROR_SOCKET_DISCONNECT;
        return Outcome::Fatal;
    }
    (sha1_rsa ? sha1_only_ : other_refused_)++;
    note(m.key.origin + " (" + m.key.type + (sha1_rsa ? " as ssh-rsa" : "") + ") refused");
    return o;
}

// Agent: connect, list, then offer each identity in turn.
Authenticator::Outcome Authenticator::try_agent(_LIBSSH2_SESSION *s, const Settings &st, int *rc)
{
    *rc = 0;
    if (agent_phase_ == 0) {
        agent_ = libssh2_agent_init(s);
        // The agent socket is a local blocking socket (libssh2 1.10): these
        // calls do not wait on the network.
        if (!agent_ || libssh2_agent_connect(agent_) != 0 ||
            libssh2_agent_list_identities(agent_) != 0) {
            note("agent: not reachable");
            return Outcome::Next;
        }
        agent_phase_ = 1;
    }
    for (;;) {
        if (agent_phase_ == 1) {
            int r = libssh2_agent_get_identity(agent_, &agent_key_, agent_key_);
            if (r != 0) {
                note(agent_keys_ ? "agent: " + std::to_string(agent_keys_) + " key(s) refused"
                                 : "agent: no keys");
                return Outcome::Next;
            }
            agent_keys_++;
            agent_phase_ = 2;
        }
        *rc = libssh2_agent_userauth(agent_, st.user.c_str(), agent_key_);
        Outcome o = classify(*rc);
        if (o != Outcome::Next)
            return o;
        refused_++;
        other_refused_++;
        agent_phase_ = 1;
    }
}

Authenticator::Result Authenticator::step(_LIBSSH2_SESSION *s, const Settings &st, Failure *f)
{
    while (idx_ < plan_.size()) {
        Method &m = plan_[idx_];
        if (!allowed(m.kind)) {
            idx_++;
            continue;
        }
        int rc = 0;
        Outcome o = Outcome::Next;
        switch (m.kind) {
        case Kind::Key:
            o = try_key(s, st, m, &rc);
            break;
        case Kind::Agent:
            o = try_agent(s, st, &rc);
            break;
        case Kind::Password: {
            const std::string &pw = st.cfg.password.value;
            rc = libssh2_userauth_password_ex(s, st.user.data(), unsigned(st.user.size()), pw.data(),
                                              unsigned(pw.size()), nullptr);
            o = classify(rc);
            if (o == Outcome::Next) {
                refused_++;
                other_refused_++;
                note(rc == LIBSSH2_ERROR_PASSWORD_EXPIRED ? "password expired" : "password refused");
            }
            break;
        }
        case Kind::Kbd:
            rc = libssh2_userauth_keyboard_interactive_ex(s, st.user.data(), unsigned(st.user.size()),
                                                          kbd_answer);
            o = classify(rc);
            if (o == Outcome::Next) {
                refused_++;
                other_refused_++;
                note("keyboard-interactive refused");
            }
            break;
        }
        if (o == Outcome::Ok)
            return Result::Done;
        if (o == Outcome::Again)
            return Result::Again;
        if (o == Outcome::Retry)
            continue;
        if (o == Outcome::Fatal) {
            std::string why = libssh2_message(s);
            if (rsa_reconnect_)
                f->set(PSSH_E_AUTH, "auth: the server closed the connection when offered " + reconnect_for_ +
                                        " (servers on Go's x/crypto/ssh do); the key can only be offered as "
                                        "ssh-rsa, on a new connection");
            else if (refused_ > 0 && (rc == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
                                 rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_SEND))
                f->set(PSSH_E_AUTH, "auth: server closed the connection after " +
                                        std::to_string(refused_) +
                                        " refused attempt(s) (its MaxAuthTries?): " + tried_);
            else
                f->set(PSSH_E_LOST, std::string("auth: connection failed during ") +
                                        kind_name(int(m.kind)) + ": " + why);
            return Result::Failed;
        }
        idx_++;
    }
    final_failure(st, f);
    return Result::Failed;
}

void Authenticator::final_failure(const Settings &st, Failure *f)
{
    const std::string allows = "; server allows: " + (server_methods_.empty() ? "none" : server_methods_);
    if (passphrase_bad_ && refused_ == 0) {
        f->set(PSSH_E_PASSPHRASE, "auth: " + passphrase_msg_);
        return;
    }
    if (sha1_only_ > 0 && other_refused_ == 0) {
        f->set(PSSH_E_KEY_ALGO,
               "auth: unsupported key algorithm: libssh2 1.10 signs an encrypted OpenSSH-format RSA key with "
               "ssh-rsa (SHA-1) only, which OpenSSH 8.8 and later refuse; re-encode it as PEM "
               "(ssh-keygen -p -m PEM -f KEY), or use an ed25519 or ECDSA key: " + tried_);
        return;
    }
    if (tried_.empty()) {
        f->set(PSSH_E_AUTH, "auth: no credential the server accepts was configured for user " +
                                st.user + " (key, agent or password)" + allows);
        return;
    }
    f->set(PSSH_E_AUTH, "auth: the server refused every credential for user " + st.user + ": " +
                            tried_ + allows);
}

} // namespace pssh
