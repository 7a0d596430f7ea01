#include "hostrange.hpp"

#include <vector>

namespace pssh {

namespace {

// Numbers of at most 18 digits fit in 64 bits with room for the sums.
constexpr size_t kMaxDigits = 18;

struct Span {
    uint64_t lo = 0, hi = 0;
    size_t width = 0; // zero padding: at least this many digits
};

// Literal text, or one bracket: its spans in order.
struct Part {
    std::string text;
    std::vector<Span> spans;
    bool range = false;
};

struct Pattern {
    std::vector<Part> parts;
    uint64_t count = 1; // saturates just past kMaxRangeHosts
};

uint64_t capped_add(uint64_t a, uint64_t b) { return a + b > kMaxRangeHosts ? kMaxRangeHosts + 1 : a + b; }

uint64_t capped_mul(uint64_t a, uint64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    return a > (kMaxRangeHosts + 1) / b ? kMaxRangeHosts + 1 : a * b;
}

bool all_digits(std::string_view s)
{
    if (s.empty())
        return false;
    for (char c : s)
        if (c < '0' || c > '9')
            return false;
    return true;
}

uint64_t to_number(std::string_view s)
{
    uint64_t v = 0;
    for (char c : s)
        v = v * 10 + uint64_t(c - '0');
    return v;
}

bool padded(std::string_view s) { return s.size() > 1 && s[0] == '0'; }

// One item of a bracket: "7", "007" or "01-20".
bool parse_span(std::string_view item, Span &out, std::string &err)
{
    const auto dash = item.find('-');
    const std::string_view lo = item.substr(0, dash);
    const std::string_view hi = dash == std::string_view::npos ? lo : item.substr(dash + 1);
    if (!all_digits(lo) || !all_digits(hi)) {
        err = "'" + std::string(item) + "' is not a number N or a range N-M";
        return false;
    }
    if (lo.size() > kMaxDigits || hi.size() > kMaxDigits) {
        err = "'" + std::string(item) + "' has a number of more than 18 digits";
        return false;
    }
    // "01-100" pads to two digits and gives 100 as it is; "1-05" and
    // "01-005" say two different widths.
    if (padded(hi) && hi.size() != lo.size()) {
        err = "'" + std::string(item) + "' pads its two ends to different widths";
        return false;
    }
    out.lo = to_number(lo);
    out.hi = to_number(hi);
    out.width = padded(lo) || padded(hi) ? lo.size() : 0;
    if (out.lo > out.hi) {
        err = "'" + std::string(item) + "' goes backwards";
        return false;
    }
    return true;
}

bool parse_bracket(std::string_view body, Part &part, std::string &err)
{
    part.range = true;
    while (true) {
        const auto comma = body.find(',');
        const std::string_view item = body.substr(0, comma);
        if (item.empty()) {
            err = "an empty item between brackets";
            return false;
        }
        Span s;
        if (!parse_span(item, s, err))
            return false;
        part.spans.push_back(s);
        if (comma == std::string_view::npos)
            break;
        body.remove_prefix(comma + 1);
    }
    return true;
}

uint64_t bracket_size(const Part &p)
{
    uint64_t n = 0;
    for (const Span &s : p.spans) // s.hi - s.lo + 1 cannot overflow: 18 digits
        n = capped_add(n, s.hi - s.lo + 1 > kMaxRangeHosts ? kMaxRangeHosts + 1 : s.hi - s.lo + 1);
    return n;
}

bool parse_pattern(std::string_view text, Pattern &out, std::string &err)
{
    Part lit;
    for (size_t i = 0; i < text.size(); i++) {
        const char c = text[i];
        if (c == ']') {
            err = "']' without '['";
            return false;
        }
        if (c != '[') {
            lit.text += c;
            continue;
        }
        const auto close = text.find(']', i + 1);
        const auto open = text.find('[', i + 1);
        if (close == std::string_view::npos) {
            err = "'[' without ']'";
            return false;
        }
        if (open < close) {
            err = "'[' inside brackets";
            return false;
        }
        const std::string_view body = text.substr(i + 1, close - i - 1);
        i = close;
        if (body.find(':') != std::string_view::npos) { // an IPv6 address
            lit.text.append("[").append(body).append("]");
            continue;
        }
        if (body.empty()) {
            err = "empty brackets";
            return false;
        }
        Part r;
        if (!parse_bracket(body, r, err))
            return false;
        out.count = capped_mul(out.count, bracket_size(r));
        if (!lit.text.empty())
            out.parts.push_back(std::move(lit));
        lit = Part{};
        out.parts.push_back(std::move(r));
    }
    if (!lit.text.empty())
        out.parts.push_back(std::move(lit));
    return true;
}

// Splits at the commas outside brackets; blanks around each item go.
std::vector<std::string_view> split_list(std::string_view text)
{
    std::vector<std::string_view> out;
    int depth = 0;
    size_t start = 0;
    for (size_t i = 0; i <= text.size(); i++) {
        if (i < text.size() && text[i] == '[')
            depth++;
        else if (i < text.size() && text[i] == ']')
            depth--;
        else if (i == text.size() || (text[i] == ',' && depth <= 0)) {
            std::string_view item = text.substr(start, i - start);
            while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
                item.remove_prefix(1);
            while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
                item.remove_suffix(1);
            if (!item.empty())
                out.push_back(item);
            start = i + 1;
        }
    }
    return out;
}

void put_number(std::string &out, uint64_t v, size_t width)
{
    const std::string digits = std::to_string(v);
    if (digits.size() < width)
        out.append(width - digits.size(), '0');
    out += digits;
}

// Every host of one pattern, the rightmost bracket varying fastest.
bool emit(const Pattern &p, const std::function<bool(const std::string &)> &fn)
{
    struct Pos {
        size_t span = 0;
        uint64_t value = 0;
    };
    std::vector<Pos> pos(p.parts.size());
    for (size_t i = 0; i < p.parts.size(); i++)
        if (p.parts[i].range)
            pos[i].value = p.parts[i].spans[0].lo;
    std::string host;
    while (true) {
        host.clear();
        for (size_t i = 0; i < p.parts.size(); i++) {
            const Part &part = p.parts[i];
            if (part.range)
                put_number(host, pos[i].value, part.spans[pos[i].span].width);
            else
                host += part.text;
        }
        if (!fn(host))
            return false;
        size_t i = p.parts.size();
        while (i-- > 0) { // the odometer: carry to the left
            const Part &part = p.parts[i];
            if (!part.range)
                continue;
            Pos &at = pos[i];
            if (at.value < part.spans[at.span].hi) {
                at.value++;
                break;
            }
            if (at.span + 1 < part.spans.size()) {
                at.value = part.spans[++at.span].lo;
                break;
            }
            at = Pos{0, part.spans[0].lo};
        }
        if (i == size_t(-1))
            return true;
    }
}

} // namespace

HostRangeResult expand_host_ranges(std::string_view pattern, const std::function<bool(const std::string &)> &fn,
                                   std::string *why)
{
    const std::vector<std::string_view> items = split_list(pattern);
    auto malformed = [&](const std::string &msg) {
        if (why)
            *why = msg;
        return HostRangeResult::Malformed;
    };
    if (items.empty())
        return malformed("'" + std::string(pattern) + "': no host");
    std::vector<Pattern> parsed(items.size());
    uint64_t total = 0;
    for (size_t i = 0; i < items.size(); i++) {
        std::string err;
        if (!parse_pattern(items[i], parsed[i], err))
            return malformed("malformed host range '" + std::string(items[i]) + "': " + err);
        total = capped_add(total, parsed[i].count);
        if (total > kMaxRangeHosts)
            return malformed("'" + std::string(pattern) + "' expands to more than 1,000,000 hosts");
    }
    for (const Pattern &p : parsed)
        if (!emit(p, fn))
            return HostRangeResult::Stopped;
    return HostRangeResult::Ok;
}

} // namespace pssh
