// StreamBuf driven by fuzz bytes against a model: the unread bytes as a
// string, plus whether the last line came out cut at the limit. Input: two
// bytes for the limit, then operations; each operation byte picks what to do
// and how much, and writes take their data from the following bytes.
#include "ssh/stream_buf.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void require(bool ok)
{
    if (!ok)
        abort();
}

struct Model {
    std::string unread;
    size_t limit;
    bool cut = false; // the last line was a piece: its "\n" or "\r\n" may follow

    // Drops the ending of a cut line; false while a lone "\r" is undecided
    // (more bytes may still come: not at EOF, and there is room).
    bool skip_cut_end(bool at_eof)
    {
        if (!cut || unread.empty())
            return !cut || at_eof;
        if (unread[0] == '\n') {
            unread.erase(0, 1);
        } else if (unread[0] == '\r') {
            if (unread.size() < 2 && !at_eof && unread.size() < limit)
                return false;
            if (unread.size() >= 2 && unread[1] == '\n')
                unread.erase(0, 2);
        }
        cut = false;
        return true;
    }

    // The line take_line must give now, if any.
    bool line(bool at_eof, std::string &out)
    {
        if (!skip_cut_end(at_eof) || unread.empty())
            return false;
        const size_t nl = unread.find('\n');
        size_t n;
        if (nl != std::string::npos) {
            out = unread.substr(0, nl);
            if (!out.empty() && out.back() == '\r')
                out.pop_back();
            n = nl + 1;
        } else if (unread.size() >= limit) {
            n = limit > 1 && unread[limit - 1] == '\r' ? limit - 1 : limit; // "\r\n" stays together
            out = unread.substr(0, n);
            cut = true;
        } else if (at_eof) {
            out = unread;
            n = unread.size();
        } else {
            return false;
        }
        unread.erase(0, n);
        return true;
    }

    // The raw line take_raw_line must give: ending kept, nothing dropped.
    bool raw_line(bool at_eof, std::string &out)
    {
        if (unread.empty())
            return false;
        const size_t nl = unread.find('\n');
        size_t n;
        if (nl != std::string::npos)
            n = nl + 1;
        else if (unread.size() >= limit)
            n = limit;
        else if (at_eof)
            n = unread.size();
        else
            return false;
        out = unread.substr(0, n);
        unread.erase(0, n);
        return true;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    // Mostly small limits (pieces), sometimes past the first 16 KiB block.
    const size_t limit = data[0] & 0x80 ? 16000 + size_t(data[1]) * 64 : 1 + data[1] % 64;
    pssh::StreamBuf b(limit);
    Model m{{}, limit};
    const char *held = nullptr; // the borrowed line and what it said
    std::string held_copy;
    size_t i = 2;
    for (int ops = 0; i < size && ops < 100000; ops++) {
        const uint8_t op = data[i++];
        const size_t arg = op >> 3;
        if (held)
            require(memcmp(held, held_copy.data(), held_copy.size()) == 0);
        switch (op & 7) {
        case 0:
        case 1: { // write up to arg+1 bytes (or ~1000 times that, to fill large limits)
            size_t avail = 0;
            const size_t want = (op & 1) ? (arg + 1) * 997 : arg + 1;
            char *p = b.write_ptr(want, &avail);
            if (!p) {
                require(b.full() || held); // only a full or borrowed buffer refuses
                break;
            }
            require(avail >= 1 && avail <= want && m.unread.size() + avail <= limit);
            for (size_t k = 0; k < avail; k++)
                p[k] = i < size ? char(data[i + k % (size - i)]) : 'x';
            i += std::min(avail, size - i);
            m.unread.append(p, avail);
            b.commit(avail);
            break;
        }
        case 2:
        case 3: { // take a line (at EOF for 3); has_line first, as readers do
            const bool at_eof = (op & 7) == 3;
            std::string want;
            const bool expect = m.line(at_eof, want);
            require(b.has_line(at_eof) == expect);
            const char *line = nullptr;
            size_t len = 0;
            require(b.take_line(at_eof, &line, &len) == expect);
            if (expect) {
                require(std::string(line, len) == want);
                held = line;
                held_copy = want;
            }
            // No line and no room would hang a reader until EOF.
            if (!expect)
                require(!b.full());
            break;
        }
        case 4:
            b.borrow_end();
            held = nullptr;
            break;
        case 5: { // raw read
            std::string buf(arg, '\0');
            const size_t n = b.take(buf.data(), buf.size());
            require(n == std::min(arg, m.unread.size()));
            require(buf.compare(0, n, m.unread, 0, n) == 0);
            m.unread.erase(0, n);
            break;
        }
        case 6:
            b.drop();
            m.unread.clear();
            break;
        case 7:
            if (arg == 0) { // rarely: free everything, borrowed line included
                b.clear();
                m = Model{{}, limit};
                held = nullptr;
            } else { // a raw line (at EOF for odd arg)
                std::string want;
                const bool expect = m.raw_line(arg & 1, want);
                const char *line = nullptr;
                size_t len = 0;
                require(b.take_raw_line(arg & 1, &line, &len) == expect);
                if (expect) {
                    require(std::string(line, len) == want);
                    held = line;
                    held_copy = want;
                }
            }
            break;
        }
        require(b.size() == m.unread.size() && b.size() <= limit && b.full() == (m.unread.size() >= limit));
    }
    return 0;
}
