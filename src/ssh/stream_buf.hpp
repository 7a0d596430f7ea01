// One output stream's unread bytes: a flat buffer with a read and a write
// offset, grown up to a limit. Lines are split in O(bytes): the scan for
// '\n' resumes where it stopped, and the buffer is compacted only when it
// must be, so reading hosts in any order never copies a byte twice per line.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pssh {

class StreamBuf {
public:
    explicit StreamBuf(size_t limit = 0) noexcept : limit_(limit) {}
    StreamBuf(const StreamBuf &) = delete;
    StreamBuf &operator=(const StreamBuf &) = delete;
    ~StreamBuf();

    void set_limit(size_t limit) noexcept { limit_ = limit; }
    size_t limit() const noexcept { return limit_; }
    size_t size() const noexcept { return end_ - start_; }
    bool empty() const noexcept { return end_ == start_; }
    // At the limit: stop reading the channel (the SSH window holds the host).
    bool full() const noexcept { return size() >= limit_; }

    // Room to read into: at most `want` bytes at *avail; nullptr when full
    // or out of memory. Never moves bytes a caller still borrows.
    char *write_ptr(size_t want, size_t *avail) noexcept;
    void commit(size_t n) noexcept { end_ += n; }

    // The next line (without "\n" and a "\r" before it). At EOF the rest is
    // a line too; a line as long as the limit comes out in pieces. The bytes
    // stay valid until the next take or borrow_end().
    bool take_line(bool at_eof, const char **line, size_t *len) noexcept;
    // The same, but the line keeps its ending ("\n", "\r\n") and nothing is
    // dropped: concatenated, raw lines are the stream's bytes.
    bool take_raw_line(bool at_eof, const char **line, size_t *len) noexcept;
    // True when take_line would succeed (scans only new bytes).
    bool has_line(bool at_eof) noexcept;
    size_t take(void *dst, size_t cap) noexcept;
    // The caller is done with what the last take_line returned.
    void borrow_end() noexcept { borrowed_ = false; }
    // Drops everything unread and frees the memory.
    void clear() noexcept;
    // Drops everything unread, keeping the memory (discarding readers).
    void drop() noexcept
    {
        if (!borrowed_)
            start_ = end_ = scan_ = 0;
        else
            start_ = scan_ = end_;
    }

private:
    char *data_ = nullptr;
    size_t start_ = 0, end_ = 0, cap_ = 0;
    size_t scan_ = 0; // bytes before scan_ hold no '\n'
    size_t limit_;
    bool borrowed_ = false;
    bool cut_ = false; // the last line returned was cut at the limit
    bool skip_cut_end(bool at_eof) noexcept;
};

} // namespace pssh
