#include "stream_buf.hpp"

#include <cstdlib>
#include <cstring>

namespace pssh {

namespace {
constexpr size_t kMinCap = 16 * 1024;
}

StreamBuf::~StreamBuf() { free(data_); }

void StreamBuf::clear() noexcept
{
    free(data_);
    data_ = nullptr;
    start_ = end_ = cap_ = scan_ = 0;
    borrowed_ = cut_ = false;
}

char *StreamBuf::write_ptr(size_t want, size_t *avail) noexcept
{
    if (full())
        return nullptr;
    if (start_ == end_ && !borrowed_)
        start_ = end_ = scan_ = 0;
    if (end_ == cap_ && !borrowed_) {
        if (start_ > 0) { // compact: at most once per buffer's worth of reads
            memmove(data_, data_ + start_, end_ - start_);
            end_ -= start_;
            scan_ = scan_ > start_ ? scan_ - start_ : 0;
            start_ = 0;
        }
        if (end_ == cap_) {
            size_t cap = cap_ ? cap_ * 2 : kMinCap;
            if (cap > limit_)
                cap = limit_ > kMinCap ? limit_ : kMinCap;
            if (cap <= cap_)
                return nullptr;
            char *p = static_cast<char *>(realloc(data_, cap));
            if (!p)
                return nullptr;
            data_ = p;
            cap_ = cap;
        }
    }
    size_t room = cap_ - end_;
    if (room == 0)
        return nullptr;
    // Never read past the limit: that is what holds the host back.
    size_t left = limit_ - size();
    if (room > left)
        room = left;
    *avail = room < want ? room : want;
    return data_ + end_;
}

// After a line was cut at the limit, the "\n" (or "\r\n") that ends it
// belongs to the pieces already returned, not to an empty line of its own.
// False while a lone "\r" cannot be told apart yet.
bool StreamBuf::skip_cut_end(bool at_eof) noexcept
{
    if (!cut_ || empty())
        return !cut_ || at_eof;
    if (data_[start_] == '\n') {
        start_++;
    } else if (data_[start_] == '\r') {
        // Wait for the byte after it, unless none can come (EOF, or no room).
        if (size() < 2 && !at_eof && !full())
            return false;
        if (size() >= 2 && data_[start_ + 1] == '\n')
            start_ += 2;
    }
    cut_ = false;
    if (scan_ < start_)
        scan_ = start_;
    return true;
}

bool StreamBuf::has_line(bool at_eof) noexcept
{
    if (!skip_cut_end(at_eof) || empty())
        return false;
    if (at_eof || size() >= limit_)
        return true;
    if (scan_ < start_)
        scan_ = start_;
    if (memchr(data_ + scan_, '\n', end_ - scan_))
        return true;
    scan_ = end_;
    return false;
}

bool StreamBuf::take_line(bool at_eof, const char **line, size_t *len) noexcept
{
    if (!skip_cut_end(at_eof) || empty())
        return false;
    if (scan_ < start_)
        scan_ = start_;
    const char *nl = static_cast<const char *>(memchr(data_ + scan_, '\n', end_ - scan_));
    size_t n;
    size_t skip;
    if (nl) {
        n = size_t(nl - (data_ + start_));
        skip = n + 1;
        if (n > 0 && data_[start_ + n - 1] == '\r')
            n--;
    } else if (size() >= limit_) { // a piece of a longer line
        n = skip = limit_;
        if (n > 1 && data_[start_ + n - 1] == '\r')
            n = skip = n - 1; // keep a "\r\n" split here together
        cut_ = true;
    } else if (at_eof) {
        n = skip = size();
    } else {
        scan_ = end_;
        return false;
    }
    *line = data_ + start_;
    *len = n;
    start_ += skip;
    scan_ = start_;
    borrowed_ = true;
    if (start_ == end_ && !borrowed_)
        start_ = end_ = scan_ = 0;
    return true;
}

bool StreamBuf::take_raw_line(bool at_eof, const char **line, size_t *len) noexcept
{
    if (empty())
        return false;
    if (scan_ < start_)
        scan_ = start_;
    const char *nl = static_cast<const char *>(memchr(data_ + scan_, '\n', end_ - scan_));
    size_t n;
    if (nl)
        n = size_t(nl - (data_ + start_)) + 1;
    else if (size() >= limit_)
        n = limit_;
    else if (at_eof)
        n = size();
    else {
        scan_ = end_;
        return false;
    }
    *line = data_ + start_;
    *len = n;
    start_ += n;
    scan_ = start_;
    borrowed_ = true;
    return true;
}

size_t StreamBuf::take(void *dst, size_t cap) noexcept
{
    size_t n = size() < cap ? size() : cap;
    if (n == 0)
        return 0;
    memcpy(dst, data_ + start_, n);
    start_ += n;
    if (scan_ < start_)
        scan_ = start_;
    if (start_ == end_ && !borrowed_)
        start_ = end_ = scan_ = 0;
    return n;
}

} // namespace pssh
