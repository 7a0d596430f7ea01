#include "pkey.hpp"

#include "wire.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace pssh {

namespace {

constexpr size_t kMaxKeyFile = 1 << 20; // no private key is a megabyte

// The body between "-----BEGIN <label>-----" and "-----END <label>-----".
bool pem_body(std::string_view text, std::string_view label, std::string_view &body)
{
    std::string begin = "-----BEGIN " + std::string(label) + "-----";
    std::string end = "-----END " + std::string(label) + "-----";
    auto b = text.find(begin);
    if (b == std::string_view::npos)
        return false;
    auto e = text.find(end, b);
    if (e == std::string_view::npos)
        return false;
    body = text.substr(b + begin.size(), e - b - begin.size());
    return true;
}

pssh_err fail(std::string *why, pssh_err code, std::string msg)
{
    if (why)
        *why = std::move(msg);
    return code;
}

// openssh-key-v1: magic, cipher, kdf, kdf options, key count, then the
// public key in clear, which names the type even when the rest is encrypted.
pssh_err sniff_openssh(PrivateKey &k, std::string_view body, std::string *why)
{
    Secret raw; // the whole container, private section included
    if (!base64_decode(body, raw.value))
        return fail(why, PSSH_E_PKEY, k.origin + ": bad base64 in OpenSSH private key");
    static constexpr char kMagic[] = "openssh-key-v1";
    std::string_view p(raw.value);
    if (p.size() < sizeof kMagic || memcmp(p.data(), kMagic, sizeof kMagic) != 0)
        return fail(why, PSSH_E_PKEY, k.origin + ": not an openssh-key-v1 private key");
    p.remove_prefix(sizeof kMagic);
    std::string_view cipher, kdf, kdfopts, pub, type;
    if (!wire_string(p, cipher) || !wire_string(p, kdf) || !wire_string(p, kdfopts) || p.size() < 4)
        return fail(why, PSSH_E_PKEY, k.origin + ": truncated OpenSSH private key");
    p.remove_prefix(4); // number of keys
    if (!wire_string(p, pub) || !wire_string(pub, type))
        return fail(why, PSSH_E_PKEY, k.origin + ": truncated OpenSSH private key");
    k.openssh_format = true;
    k.encrypted = cipher != "none";
    k.type = std::string(type);
    return PSSH_OK;
}

// The SSH type of a key OpenSSL read; "" with *why set for an EC curve SSH
// has no name for.
std::string type_of(EVP_PKEY *pk, const std::string &origin, std::string *why)
{
    switch (EVP_PKEY_base_id(pk)) {
    case EVP_PKEY_RSA:
        return "ssh-rsa";
    case EVP_PKEY_DSA:
        return "ssh-dss";
    case EVP_PKEY_ED25519:
        return "ssh-ed25519";
    case EVP_PKEY_EC: {
        std::string group;
        if (const char *curve = ssh_curve_of(pk, &group))
            return std::string("ecdsa-sha2-") + curve;
        fail(why, PSSH_E_KEY_ALGO,
             origin + ": EC key on curve " + group +
                 ", which SSH does not support (only nistp256, nistp384 and nistp521)");
        return "";
    }
    }
    return "unknown";
}

// PEM keys (PKCS#1, SEC1, PKCS#8): OpenSSL parses them, so the passphrase
// can be checked here and a wrong one reported as such.
pssh_err sniff_pem(PrivateKey &k, std::string_view text, const Secret *pass, std::string *why)
{
    k.encrypted = text.find("ENCRYPTED") != std::string_view::npos;
    if (k.encrypted && (!pass || pass->value.empty()))
        return fail(why, PSSH_E_PASSPHRASE, k.origin + ": key is encrypted and no passphrase was given");
    BIO *bio = BIO_new_mem_buf(text.data(), int(text.size()));
    if (!bio)
        return fail(why, PSSH_E_NOMEM, "out of memory");
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, nullptr, secret_pass_cb, const_cast<Secret *>(pass));
    BIO_free(bio);
    if (!pk) {
        if (k.encrypted)
            return fail(why, PSSH_E_PASSPHRASE, k.origin + ": wrong passphrase for encrypted key");
        return fail(why, PSSH_E_PKEY, k.origin + ": unreadable PEM private key");
    }
    k.type = type_of(pk, k.origin, why);
    EVP_PKEY_free(pk);
    return k.type.empty() ? PSSH_E_KEY_ALGO : PSSH_OK;
}

} // namespace

bool key_type_is_rsa(const std::string &type) { return type == "ssh-rsa"; }

const char *ssh_curve_of(EVP_PKEY *pk, std::string *group)
{
    // By name, not size: secp256k1 and brainpoolP256r1 are 256 bits too.
    static const char *const names[][2] = {
        {"prime256v1", "nistp256"}, {"P-256", "nistp256"}, {"secp256r1", "nistp256"},
        {"secp384r1", "nistp384"},  {"P-384", "nistp384"}, {"secp521r1", "nistp521"},
        {"P-521", "nistp521"},
    };
    char name[80];
    size_t n = 0;
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &n) != 1) {
        if (group)
            *group = "explicit parameters";
        return nullptr;
    }
    if (group)
        *group = name;
    for (const auto &e : names)
        if (strcmp(name, e[0]) == 0)
            return e[1];
    return nullptr;
}

pssh_err sniff_private_key(PrivateKey &k, const Secret *passphrase, std::string *why)
{
    std::string_view text(k.data.value);
    std::string_view body;
    if (pem_body(text, "OPENSSH PRIVATE KEY", body)) {
        pssh_err rc = sniff_openssh(k, body, why);
        if (rc == PSSH_OK && k.encrypted && (!passphrase || passphrase->value.empty()))
            return fail(why, PSSH_E_PASSPHRASE, k.origin + ": key is encrypted and no passphrase was given");
        return rc;
    }
    if (text.find("-----BEGIN ") != std::string_view::npos &&
        text.find("PRIVATE KEY-----") != std::string_view::npos)
        return sniff_pem(k, text, passphrase, why);
    if (text.rfind("ssh-", 0) == 0 || text.rfind("ecdsa-", 0) == 0)
        return fail(why, PSSH_E_PKEY, k.origin + ": this is a public key; give the private key file");
    return fail(why, PSSH_E_PKEY, k.origin + ": not a private key (no PEM or OpenSSH header)");
}

pssh_err load_private_key_file(const std::string &path, const Secret *passphrase, PrivateKey &out,
                               std::string *why)
{
    out = PrivateKey{};
    out.origin = path;
    // O_NONBLOCK: opening a FIFO with no writer would wait for one for ever.
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (e == EMFILE || e == ENFILE)
            return fail(why, PSSH_E_RESOURCE, path + ": cannot open key file: " + strerror(e));
        return fail(why, PSSH_E_PKEY, path + ": cannot open key file: " + strerror(e));
    }
    struct stat st {};
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || size_t(st.st_size) > kMaxKeyFile) {
        const char *what = S_ISFIFO(st.st_mode) ? " (a FIFO)" : S_ISDIR(st.st_mode) ? " (a directory)" : "";
        close(fd);
        return fail(why, PSSH_E_PKEY, path + ": not a regular file of key size" + what);
    }
    std::string &buf = out.data.value;
    buf.resize(size_t(st.st_size));
    size_t got = 0;
    while (got < buf.size()) {
        ssize_t n = read(fd, buf.data() + got, buf.size() - got);
        if (n < 0 && errno == EINTR)
            continue; // a regular file never gives EAGAIN
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            out.data.wipe();
            close(fd);
            return fail(why, PSSH_E_PKEY, path + ": cannot read key file: " + strerror(e));
        }
        got += size_t(n);
    }
    close(fd);
    return sniff_private_key(out, passphrase, why);
}

} // namespace pssh
