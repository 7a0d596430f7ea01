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
    borrowed_ = false;
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

bool StreamBuf::has_line(bool at_eof) noexcept
{
    if (empty())
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
    if (empty())
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
    } else if (at_eof || size() >= limit_) {
        n = skip = size() < limit_ ? size() : limit_;
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

size_t StreamBuf::take(void *dst, size_t cap) noexcept
{
    size_t n = size() < cap ? size() : cap;
    memcpy(dst, data_ + start_, n);
    start_ += n;
    if (scan_ < start_)
        scan_ = start_;
    if (start_ == end_ && !borrowed_)
        start_ = end_ = scan_ = 0;
    return n;
}

} // namespace pssh
