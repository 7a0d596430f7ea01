// Driving a StreamBuf the way the output code does, and the plain splitter
// its lines are compared against.
#pragma once
#include "ssh/stream_buf.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace unit {

// Writes data in commits of at most `chunk` bytes until all is in or the
// buffer refuses; returns the bytes written.
inline size_t feed(pssh::StreamBuf &b, std::string_view data, size_t chunk)
{
    size_t done = 0;
    while (done < data.size()) {
        size_t avail = 0;
        char *p = b.write_ptr(std::min(chunk, data.size() - done), &avail);
        if (!p || avail == 0)
            break;
        memcpy(p, data.data() + done, avail);
        b.commit(avail);
        done += avail;
    }
    return done;
}

// Every line take_line gives now (borrow released after each).
inline std::vector<std::string> take_lines(pssh::StreamBuf &b, bool at_eof)
{
    std::vector<std::string> out;
    const char *line;
    size_t len;
    for (int i = 0; i < 1000000 && b.take_line(at_eof, &line, &len); i++) {
        out.emplace_back(line, len);
        b.borrow_end();
    }
    return out;
}

// What a reader must see for a stream: split at '\n' (a '\r' before it
// dropped); a pending line that reaches `limit` bytes comes out as a piece
// (one byte short when that keeps a "\r\n" together), and the "\n" or
// "\r\n" right after a piece ends that line instead of adding an empty one;
// at the end, the rest is a line.
inline std::vector<std::string> reference_lines(std::string_view data, size_t limit)
{
    std::vector<std::string> out;
    std::string cur;
    bool cut = false; // the last line out was a piece; its ending may follow
    for (char c : data) {
        if (cut) {
            if (cur.empty() && c == '\n') {
                cut = false;
                continue;
            }
            if (cur == "\r" && c == '\n') {
                cur.clear();
                cut = false;
                continue;
            }
            if (!(cur.empty() && c == '\r'))
                cut = false;
        }
        if (c == '\n') {
            if (!cur.empty() && cur.back() == '\r')
                cur.pop_back();
            out.push_back(cur);
            cur.clear();
            continue;
        }
        cur += c;
        if (cur.size() == limit) {
            const bool keep_cr = limit > 1 && cur.back() == '\r';
            out.push_back(keep_cr ? cur.substr(0, limit - 1) : cur);
            cur = keep_cr ? "\r" : "";
            cut = true;
        }
    }
    if (!cur.empty())
        out.push_back(cur);
    return out;
}

inline std::string join_lines(const std::vector<std::string> &v)
{
    std::string s;
    for (const std::string &x : v)
        s += "[" + x + "]";
    return s;
}

} // namespace unit
