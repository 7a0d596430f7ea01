#include "signer_cache.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace pssh {

SignerCache::SignerCache() { salted_ = RAND_bytes(salt_, sizeof salt_) == 1; }

bool SignerCache::id_of(const PrivateKey &key, const Secret *passphrase, std::string &id) const
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    const std::string &k = key.data.value;
    const std::string none;
    const std::string &pass = passphrase ? passphrase->value : none;
    const unsigned char sep[1] = {passphrase ? uint8_t(1) : uint8_t(0)};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = salted_ && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) &&
              EVP_DigestUpdate(ctx, salt_, sizeof salt_) && EVP_DigestUpdate(ctx, k.data(), k.size()) &&
              EVP_DigestUpdate(ctx, sep, 1) && EVP_DigestUpdate(ctx, pass.data(), pass.size()) &&
              EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx); // clears its state
    if (ok)
        id.assign(reinterpret_cast<char *>(md), n);
    return ok;
}

pssh_err SignerCache::get(const PrivateKey &key, const Secret *passphrase, Ref<Signer> &out, std::string *why)
{
    std::string id;
    if (!id_of(key, passphrase, id))
        return Signer::make(key, passphrase, out, why); // uncached
    if (auto it = live_.find(id); it != live_.end()) {
        out = Ref<Signer>::share(it->second);
        return PSSH_OK;
    }
    pssh_err rc = Signer::make(key, passphrase, out, why);
    if (rc == PSSH_OK && out) {
        live_[id] = out.get();
        out->cache_ = Ref<SignerCache>::share(this);
        out->cache_id_ = std::move(id);
    }
    return rc;
}

void SignerCache::forget(const std::string &id, const Signer *s) noexcept
{
    if (auto it = live_.find(id); it != live_.end() && it->second == s)
        live_.erase(it);
}

} // namespace pssh
