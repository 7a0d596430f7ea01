// expand_host_ranges on any bytes: no crash, no runaway, and every host it
// gives expands again to itself alone (no range, list or stray bracket is
// left in a result).
#include "net/hostrange.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void require(bool ok)
{
    if (!ok)
        abort();
}

// Enough hosts to cover brackets and lists; a million per input would only
// slow the fuzzer down.
constexpr size_t kChecked = 2000;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string text(reinterpret_cast<const char *>(data), size);
    size_t n = 0;
    std::string why;
    auto r = pssh::expand_host_ranges(
        text,
        [&](const std::string &host) {
            require(!host.empty());
            require(host.front() != ' ' && host.back() != ' ');
            std::string again_why;
            size_t again = 0;
            auto r2 = pssh::expand_host_ranges(
                host, [&](const std::string &h) { require(h == host); return ++again < 2; }, &again_why);
            require(r2 == pssh::HostRangeResult::Ok && again == 1);
            return ++n < kChecked;
        },
        &why);
    if (r == pssh::HostRangeResult::Malformed)
        require(!why.empty() && n == 0);
    else
        require(n >= 1);
    return 0;
}
