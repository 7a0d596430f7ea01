// What libssh2 may take from a session's socket, decided in its receive
// hook, where every byte passes:
// - a turn's budget: one session reads at most kTurnBudget bytes per loop
//   turn, and nothing once its attempt's deadline has passed, so a peer that
//   floods (or a fast one) cannot starve the other hosts or outrun its
//   deadline: libssh2 is told "no data yet" and the loop moves on;
// - the banner: at most kMaxPreBannerLines lines (kMaxBannerLine bytes each)
//   before the "SSH-" line, as OpenSSH allows; then the connection fails;
// - the end of the socket once the session is established: held back as
//   "no data yet" until the session says libssh2 has handed over what it
//   had queued. libssh2 1.10 reports a transport error before the packets it
//   already holds, which would lose output that arrived before a drop.
#pragma once
#include "../util/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace pssh {

class RecvGuard {
public:
    static constexpr uint64_t kTurnBudget = 256 * 1024;
    static constexpr uint64_t kMinCost = 64;
    static constexpr int kMaxPreBannerLines = 1024;
    static constexpr size_t kMaxBannerLine = 8192;

    // A new connection: banner not seen, nothing held.
    void reset(Nanos deadline) noexcept;
    void set_deadline(Nanos deadline) noexcept { deadline_ = deadline; }
    void set_established(bool on) noexcept { established_ = on; }
    void new_turn() noexcept { turn_ = 0; }

    // recv(2) with the rules above: bytes, 0 at the end, or -errno.
    ssize_t recv(int fd, void *buf, size_t len, int flags) noexcept;

    uint64_t total() const noexcept { return total_; }
    bool turn_spent() const noexcept { return turn_ >= kTurnBudget; }
    // The socket ended (EOF or error) and libssh2 has not been told yet.
    bool end_held() const noexcept { return end_held_ && !end_released_; }
    // From now on libssh2 sees the end.
    void release_end() noexcept { end_released_ = true; }
    // The session is being freed: libssh2 reads nothing more (a spent
    // turn's "no data yet" would make libssh2_session_free say EAGAIN for
    // ever, and leak the session).
    void close() noexcept { closed_ = true; }
    // Failed because of the pre-banner rule (the reason to report).
    bool banner_flood() const noexcept { return flood_; }

private:
    void scan_banner(const char *p, size_t n) noexcept;

    Nanos deadline_ = kNever;
    uint64_t total_ = 0, turn_ = 0;
    bool established_ = false;
    bool banner_seen_ = false, flood_ = false, closed_ = false;
    int lines_ = 0;
    size_t line_len_ = 0;
    char head_[4] = {0, 0, 0, 0}; // the current line's first bytes
    bool end_held_ = false, end_released_ = false;
    int end_ = 0; // 0 for EOF, else the errno
};

} // namespace pssh
