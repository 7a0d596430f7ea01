// known_hosts parsing on any text. Input: one byte choosing the port, the
// host name up to the first '\n', then the file. Checks the verdict's
// consistency, that a line we write is always found again, and that a line
// added to the parsed file reads as the file with the line written to it.
#include "ssh/known_hosts.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string>

namespace {

void require(bool ok)
{
    if (!ok)
        abort();
}

const std::string kType = "ssh-ed25519";
const std::string kBlob = "fuzzkey!"; // base64 "ZnV6emtleSE=", used by the seeds

bool plain_host(const std::string &h)
{
    if (h.empty())
        return false;
    for (unsigned char c : h)
        if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '%'))
            return false;
    return true;
}

std::string b64(const std::string &in)
{
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    out.resize(size_t(EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                                      reinterpret_cast<const unsigned char *>(in.data()), int(in.size()))));
    return out;
}

std::string hashed(const std::string &name, const std::string &salt)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha1(), salt.data(), int(salt.size()), reinterpret_cast<const unsigned char *>(name.data()),
         name.size(), mac, &len);
    return "|1|" + b64(salt) + "|" + b64(std::string(reinterpret_cast<char *>(mac), len));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int kPorts[] = {22, 2222, 1, 65535};
    const int port = kPorts[data[0] % 4];
    const std::string rest(reinterpret_cast<const char *>(data + 1), size - 1);
    const size_t nl = rest.find('\n');
    const std::string host = rest.substr(0, nl);
    const std::string text = nl == std::string::npos ? "" : rest.substr(nl + 1);
    const int lines = int(std::count(text.begin(), text.end(), '\n')) + 1;

    const pssh::HostKeyVerdict v = pssh::check_known_hosts(text, host, port, kType, kBlob);
    require((v.status == pssh::HostKeyStatus::NotFound) == (v.line == 0));
    require(v.line >= 0 && v.line <= lines);

    const std::vector<std::string> types = pssh::known_key_types(text, host, port);
    for (size_t i = 0; i < types.size(); i++) {
        require(!types[i].empty() && types[i].find_first_of(" \t\n") == std::string::npos);
        for (size_t j = 0; j < i; j++)
            require(types[i] != types[j]);
    }
    const bool type_known = std::find(types.begin(), types.end(), kType) != types.end();
    if (v.status == pssh::HostKeyStatus::Match || v.status == pssh::HostKeyStatus::Mismatch)
        require(type_known);
    if (v.status == pssh::HostKeyStatus::OtherType) // known, but not by this type
        require(!types.empty() && !type_known);
    if (v.status == pssh::HostKeyStatus::NotFound)
        require(types.empty());

    // Host names are case-insensitive; OpenSSH hashes and writes them lowercased.
    std::string lower = host, upper = host;
    for (char &c : lower)
        c = char(tolower(static_cast<unsigned char>(c)));
    for (char &c : upper)
        c = char(toupper(static_cast<unsigned char>(c)));
    const pssh::HostKeyVerdict v_upper = pssh::check_known_hosts(text, upper, port, kType, kBlob);
    require(v_upper.status == v.status && v_upper.line == v.line);
    const std::string name = port == 22 ? lower : "[" + lower + "]:" + std::to_string(port);
    (void)pssh::host_patterns_match(text.substr(0, text.find_first_of(" \t\n")), name);
    (void)pssh::host_patterns_match(host, "example.com");

    if (!plain_host(host))
        return 0;
    // A line we write is found on its own, and after any file (unless that
    // file revokes the very key).
    const std::string line = pssh::known_hosts_line(host, port, kType, kBlob);
    const pssh::HostKeyVerdict alone = pssh::check_known_hosts(line, host, port, kType, kBlob);
    require(alone.status == pssh::HostKeyStatus::Match && alone.line == 1);
    const pssh::HostKeyVerdict after = pssh::check_known_hosts(text + "\n" + line, host, port, kType, kBlob);
    require(after.status == pssh::HostKeyStatus::Match || after.status == pssh::HostKeyStatus::Revoked);
    // Appended to the parsed file (accept-new), it reads as the file's next
    // line, as the file itself would after our write (a newline first when
    // the last line has none).
    pssh::KnownHosts appended(text);
    appended.append(line);
    const std::string sep = text.empty() || text.back() == '\n' ? "" : "\n";
    const pssh::HostKeyVerdict whole = pssh::check_known_hosts(text + sep + line, host, port, kType, kBlob);
    const pssh::HostKeyVerdict joined = appended.check(host, port, kType, kBlob);
    require(joined.status == whole.status && joined.line == whole.line);
    std::string salt = text.substr(0, 20);
    if (!salt.empty()) {
        salt.resize(20, 's'); // OpenSSH's salts are 20 bytes; no other size matches
        const std::string h = hashed(name, salt) + " " + kType + " " + b64(kBlob) + "\n";
        require(pssh::check_known_hosts(h, host, port, kType, kBlob).status == pssh::HostKeyStatus::Match);
    }
    return 0;
}
