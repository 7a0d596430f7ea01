// Names and descriptions of every pssh_err, in one table.
#include "errors.hpp"

namespace pssh {

namespace {
struct ErrInfo {
    pssh_err code;
    const char *name;
    const char *text;
};
constexpr ErrInfo kErrors[] = {
    {PSSH_OK, "PSSH_OK", "success"},
    {PSSH_EOF, "PSSH_EOF", "end of stream"},
    {PSSH_E_INVAL, "PSSH_E_INVAL", "invalid argument"},
    {PSSH_E_NOMEM, "PSSH_E_NOMEM", "out of memory"},
    {PSSH_E_UNKNOWN_HOST, "PSSH_E_UNKNOWN_HOST", "host name does not resolve"},
    {PSSH_E_CONNECT, "PSSH_E_CONNECT", "connection failed"},
    {PSSH_E_REFUSED, "PSSH_E_REFUSED", "connection refused"},
    {PSSH_E_TIMEOUT, "PSSH_E_TIMEOUT", "timed out"},
    {PSSH_E_SESSION, "PSSH_E_SESSION", "SSH protocol error (banner or key exchange)"},
    {PSSH_E_HOSTKEY, "PSSH_E_HOSTKEY", "host key mismatch or revoked"},
    {PSSH_E_HOSTKEY_UNKNOWN, "PSSH_E_HOSTKEY_UNKNOWN", "host key not known"},
    {PSSH_E_AUTH, "PSSH_E_AUTH", "authentication failed"},
    {PSSH_E_PKEY, "PSSH_E_PKEY", "private key file missing, unreadable or malformed"},
    {PSSH_E_PASSPHRASE, "PSSH_E_PASSPHRASE", "private key passphrase missing or wrong"},
    {PSSH_E_KEY_ALGO, "PSSH_E_KEY_ALGO", "unsupported key algorithm"},
    {PSSH_E_CHANNEL, "PSSH_E_CHANNEL", "channel or command refused by the server"},
    {PSSH_E_LOST, "PSSH_E_LOST", "connection lost"},
    {PSSH_E_PROXY, "PSSH_E_PROXY", "proxy failure"},
    {PSSH_E_SFTP, "PSSH_E_SFTP", "SFTP failure"},
    {PSSH_E_SCP, "PSSH_E_SCP", "SCP failure"},
    {PSSH_E_SHELL, "PSSH_E_SHELL", "interactive shell failure"},
    {PSSH_E_HOST_ARG, "PSSH_E_HOST_ARG", "malformed host or host argument"},
    {PSSH_E_IO, "PSSH_E_IO", "local I/O error"},
    {PSSH_E_RESOURCE, "PSSH_E_RESOURCE", "out of descriptors or threads"},
    {PSSH_E_BUSY, "PSSH_E_BUSY", "blocking call from inside a callback"},
    {PSSH_E_STATE, "PSSH_E_STATE", "not valid in this state"},
    {PSSH_E_FULL, "PSSH_E_FULL", "output buffer full"},
    {PSSH_E_INTERNAL, "PSSH_E_INTERNAL", "internal error (a libpssh bug)"},
    {PSSH_E_AGAIN, "PSSH_E_AGAIN", "the call's own timeout passed (nothing lost: call again)"},
};

const ErrInfo *find(int e)
{
    for (const ErrInfo &i : kErrors)
        if (i.code == e)
            return &i;
    return nullptr;
}
} // namespace

const char *error_text(int e)
{
    const ErrInfo *i = find(e);
    return i ? i->text : "unknown error";
}

const char *error_name(int e)
{
    const ErrInfo *i = find(e);
    return i ? i->name : "PSSH_E_UNKNOWN";
}

} // namespace pssh
