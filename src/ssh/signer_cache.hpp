// The keys of one loop, parsed once and shared by every connection that
// uses them (Loop::signer_for). Entries are weak: a parsed key stays only
// while some Settings (or an authentication in progress) holds its Signer,
// and is gone, wiped by OpenSSL, when the last one lets go.
#pragma once
#include "../util/ref.hpp"
#include "signer.hpp"

#include <string>
#include <unordered_map>

namespace pssh {

class SignerCache final : public RefCounted {
public:
    SignerCache();
    // Signer::make, once per distinct key and passphrase.
    pssh_err get(const PrivateKey &key, const Secret *passphrase, Ref<Signer> &out, std::string *why);
    size_t size() const noexcept { return live_.size(); }

private:
    friend class Signer;
    ~SignerCache() override = default;
    // A Signer going away.
    void forget(const std::string &id, const Signer *s) noexcept;
    bool id_of(const PrivateKey &key, const Secret *passphrase, std::string &id) const;

    // Ids are salted digests: without the salt they cannot be matched
    // against a key file or used to test passphrases.
    unsigned char salt_[32];
    bool salted_ = false;
    std::unordered_map<std::string, Signer *> live_;
};

} // namespace pssh
