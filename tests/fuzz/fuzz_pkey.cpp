// sniff_private_key on any bytes, without a passphrase, with a fixed one
// and with one taken from the input. It must classify, never crash.
#include "ssh/pkey.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void require(bool ok)
{
    if (!ok)
        abort();
}

void sniff(const std::string &bytes, const pssh::Secret *pass)
{
    pssh::PrivateKey k;
    k.origin = "fuzz";
    k.data.value = bytes;
    std::string why;
    const pssh_err rc = pssh::sniff_private_key(k, pass, &why);
    require(rc == PSSH_OK || rc == PSSH_E_PKEY || rc == PSSH_E_PASSPHRASE || rc == PSSH_E_NOMEM);
    if (rc == PSSH_OK)
        require(!k.type.empty() && why.empty());
    else
        require(why.rfind("fuzz", 0) == 0 || rc == PSSH_E_NOMEM);
    // Without a passphrase an encrypted key is never OK.
    if (rc == PSSH_OK && k.encrypted)
        require(pass && !pass->value.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string bytes(reinterpret_cast<const char *>(data), size);
    sniff(bytes, nullptr);
    pssh::Secret fixed;
    fixed.value = "correct horse";
    sniff(bytes, &fixed);
    // The first line as the passphrase for the rest.
    const size_t nl = bytes.find('\n');
    if (nl != std::string::npos && nl < 64) {
        pssh::Secret own;
        own.value = bytes.substr(0, nl);
        sniff(bytes.substr(nl + 1), &own);
    }
    return 0;
}
