#include "../ssh/pkey.hpp"
#include "glue.hpp"

#include <cstdio>

using pssh::capi::guard;

extern "C" {

// The checks a connection makes on a configured key file, made once, here:
// so a program can skip an unusable key with one warning, as ssh does,
// instead of every host failing on it.
PSSH_API pssh_err pssh_key_check(const char *path, const char *passphrase, char *why, size_t whylen)
{
    if (!path || !*path)
        return PSSH_E_INVAL;
    return guard([&] {
        pssh::Secret pass;
        if (passphrase)
            pass.value = passphrase;
        pssh::PrivateKey key;
        std::string reason;
        pssh_err rc = pssh::load_private_key_file(path, passphrase ? &pass : nullptr, key, &reason);
        if (why && whylen)
            snprintf(why, whylen, "%s", rc == PSSH_OK ? "" : reason.c_str());
        return rc;
    });
}

} // extern "C"
