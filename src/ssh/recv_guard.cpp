#include "recv_guard.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>

namespace pssh {

void RecvGuard::reset(Nanos deadline) noexcept
{
    *this = RecvGuard();
    deadline_ = deadline;
}

// Lines before "SSH-" (RFC 4253 4.2 lets a server send them). Only the
// banner phase pays for this scan.
void RecvGuard::scan_banner(const char *p, size_t n) noexcept
{
    for (size_t i = 0; i < n && !banner_seen_ && !flood_; i++) {
        if (line_len_ < sizeof head_)
            head_[line_len_] = p[i];
        line_len_++;
        if (line_len_ == sizeof head_ && memcmp(head_, "SSH-", 4) == 0) {
            banner_seen_ = true;
            break;
        }
        if (p[i] == '\n') {
            line_len_ = 0;
            if (++lines_ >= kMaxPreBannerLines)
                flood_ = true;
        } else if (line_len_ > kMaxBannerLine) {
            flood_ = true;
        }
    }
}

ssize_t RecvGuard::recv(int fd, void *buf, size_t len, int flags) noexcept
{
    if (closed_)
        return -ECONNRESET;
    if (end_held_)
        return end_released_ ? (end_ ? -end_ : 0) : -EAGAIN;
    if (flood_)
        return -ECONNRESET;
    if (turn_ >= kTurnBudget)
        return -EAGAIN;
    if (!established_ && deadline_ != kNever && now_ns() >= deadline_)
        return -EAGAIN; // the deadline timer decides, on this turn
    ssize_t n = ::recv(fd, buf, len, flags);
    if (n > 0) {
        total_ += uint64_t(n);
        // A call costs at least kMinCost: libssh2 reads the banner a byte
        // at a time, and a flood of calls is as bad as a flood of bytes.
        turn_ += uint64_t(n) < kMinCost ? kMinCost : uint64_t(n);
        if (!banner_seen_) {
            scan_banner(static_cast<const char *>(buf), size_t(n));
            if (flood_)
                return -ECONNRESET;
        }
        return n;
    }
    int e = n < 0 ? errno : 0;
    if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR))
        return -EAGAIN;
    if (!established_)
        return n < 0 ? -e : 0;
    end_held_ = true;
    end_ = e;
    return -EAGAIN;
}

} // namespace pssh
