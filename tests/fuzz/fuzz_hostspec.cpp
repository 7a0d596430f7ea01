// parse_host_spec on any bytes: no crash, and what it accepts is sane and
// reads back the same when written out again.
#include "net/hostspec.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void require(bool ok)
{
    if (!ok)
        abort();
}

std::string format(const pssh::HostSpec &s)
{
    std::string out = s.user.empty() ? "" : s.user + "@";
    // Brackets for anything only the bracket form accepts (':' and '%').
    const bool v6 = s.host.find_first_of(":%") != std::string::npos;
    if (v6 && s.port)
        out += "[" + s.host + "]:" + std::to_string(s.port);
    else if (v6)
        out += "[" + s.host + "]";
    else
        out += s.host + (s.port ? ":" + std::to_string(s.port) : "");
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string text(reinterpret_cast<const char *>(data), size);
    pssh::HostSpec spec;
    std::string why;
    if (!pssh::parse_host_spec(text, spec, &why)) {
        require(!why.empty());
        return 0;
    }
    require(!spec.host.empty() && spec.host.size() <= 253);
    require(spec.port >= 0 && spec.port <= 65535);
    require(spec.host.find('@') == std::string::npos);
    require(spec.host.find_first_of(" \t\r\n/[]") == std::string::npos);
    for (char c : spec.user)
        require(c != ' ' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    pssh::HostSpec again;
    require(pssh::parse_host_spec(format(spec), again, nullptr));
    require(again.user == spec.user && again.host == spec.host && again.port == spec.port);
    return 0;
}
