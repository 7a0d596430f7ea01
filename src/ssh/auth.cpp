#include "auth.hpp"

#include "loop.hpp"
#include "session.hpp"

#include <cstdlib>
#include <cstring>
#include <libssh2.h>
#include <unistd.h>

namespace pssh {

namespace {

// libssh2 passes the session's abstract pointer: our Session.
void kbd_answer(const char *, int, const char *, int, int num_prompts,
                const LIBSSH2_USERAUTH_KBDINT_PROMPT *, LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses,
                void **abstract)
{
    const std::string &pw = static_cast<const Session *>(*abstract)->password();
    for (int i = 0; i < num_prompts; i++) {
        // Freed by libssh2 with the session's free(), which is free().
        char *copy = static_cast<char *>(malloc(pw.size() + 1));
        if (copy)
            memcpy(copy, pw.c_str(), pw.size() + 1);
        responses[i].text = copy;
        responses[i].length = copy ? unsigned(pw.size()) : 0;
    }
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
    refused_ = rsa_refused_ = other_refused_ = 0;
    passphrase_bad_ = false;
    passphrase_msg_.clear();
}

pssh_err Authenticator::plan(Loop &loop, const Settings &st, std::string *why)
{
    reset();
    const Config &c = st.cfg;
    const Secret *pass = c.has_passphrase ? &c.passphrase : nullptr;
    if (c.has(Config::kPkey)) {
        Method m{Kind::Key, {}, {}};
        pssh_err rc;
        if (c.pkey_path.empty()) {
            m.key.origin = "key in memory";
            m.key.data = c.pkey_data;
            rc = sniff_private_key(m.key, pass, why);
        } else {
            rc = load_private_key_file(c.pkey_path, pass, m.key, why);
        }
        if (rc != PSSH_OK)
            return rc;
        m.signer = loop.signer_for(m.key, pass);
        plan_.push_back(std::move(m));
    }
    for (const std::string &path : c.identity_files) {
        Method m{Kind::Key, {}, {}};
        pssh_err rc = load_private_key_file(path, pass, m.key, why);
        if (rc != PSSH_OK)
            return rc;
        m.signer = loop.signer_for(m.key, pass);
        plan_.push_back(std::move(m));
    }
    // ssh_config's IdentityFile: as ssh does, a key that is missing or that
    // cannot be loaded is skipped (the reason shows if authentication fails).
    for (const std::string &path : c.config_identity_files) {
        Method m{Kind::Key, {}, {}};
        std::string skipped;
        if (load_private_key_file(path, pass, m.key, &skipped) != PSSH_OK) {
            if (access(path.c_str(), F_OK) == 0)
                note(path + ": skipped: " + skipped);
            continue;
        }
        m.signer = loop.signer_for(m.key, pass);
        plan_.push_back(std::move(m));
    }
    if (c.agent)
        plan_.push_back(Method{Kind::Agent, {}, {}});
    if (c.default_identities && !c.has(Config::kPkey) && c.identity_files.empty() &&
        c.config_identity_files.empty()) {
        // Best effort, as ssh does: missing or encrypted defaults are skipped.
        for (const char *name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
            Method m{Kind::Key, {}, {}};
            if (load_private_key_file(home_dir() + "/.ssh/" + name, pass, m.key, nullptr) == PSSH_OK) {
                m.signer = loop.signer_for(m.key, pass);
                plan_.push_back(std::move(m));
            }
        }
    }
    if (c.has(Config::kPassword)) {
        plan_.push_back(Method{Kind::Password, {}, {}});
        plan_.push_back(Method{Kind::Kbd, {}, {}});
    }
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

Authenticator::Outcome Authenticator::try_key(_LIBSSH2_SESSION *s, const Settings &st, Method &m,
                                              int *rc)
{
    const Config &c = st.cfg;
    const char *pass = c.has_passphrase ? c.passphrase.value.c_str() : nullptr;
    const std::string &key = m.key.data.value;
    if (m.signer) {
        signing_ = m.signer.get();
        const std::string &pub = m.signer->public_blob();
        *rc = libssh2_userauth_publickey(s, st.user.c_str(), reinterpret_cast<const unsigned char *>(pub.data()),
                                         pub.size(), Signer::sign_cb, reinterpret_cast<void **>(&signing_));
    } else {
        *rc = libssh2_userauth_publickey_frommemory(s, st.user.data(), st.user.size(), nullptr, 0, key.data(),
                                                    key.size(), pass);
    }
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
            note(m.key.origin + " (" + m.key.type + "): libssh2 cannot use it: " +
                 libssh2_message(s));
        }
        return o;
    }
    refused_++;
    (key_type_is_rsa(m.key.type) ? rsa_refused_ : other_refused_)++;
    note(m.key.origin + " (" + m.key.type + ") refused");
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
        Outcome o;
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
        if (o == Outcome::Fatal) {
            std::string why = libssh2_message(s);
            if (refused_ > 0 && (rc == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
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
    if (rsa_refused_ > 0 && other_refused_ == 0) {
        f->set(PSSH_E_KEY_ALGO,
               "auth: unsupported key algorithm: the server refused the ssh-rsa key (libssh2 1.10 "
               "signs RSA with SHA-1 only, which OpenSSH 8.8 and later refuse); use an ed25519 or "
               "ECDSA key: " + tried_);
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
