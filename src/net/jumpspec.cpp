#include "jumpspec.hpp"

namespace pssh {

bool parse_jump_spec(const std::string &text, std::vector<HostSpec> &out, std::string *why)
{
    out.clear();
    if (text.empty())
        return true;
    size_t start = 0;
    for (;;) {
        size_t comma = text.find(',', start);
        std::string hop = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        HostSpec spec;
        std::string bad;
        if (!parse_host_spec(hop, spec, &bad)) {
            if (why)
                *why = "proxy hop " + std::to_string(out.size() + 1) + " ('" + hop + "'): " + bad;
            out.clear();
            return false;
        }
        out.push_back(std::move(spec));
        if (out.size() > kMaxProxyHops) {
            if (why)
                *why = "more than " + std::to_string(kMaxProxyHops) + " proxy hops";
            out.clear();
            return false;
        }
        if (comma == std::string::npos)
            return true;
        start = comma + 1;
    }
}

} // namespace pssh
