// Non-blocking TCP connect, and literal address parsing (which lets a
// numeric host skip the resolver).
#pragma once
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>

namespace pssh {

struct SockAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family() const noexcept { return ss.ss_family; }
};

// host is an IPv4 or IPv6 literal (IPv6 without brackets, zone allowed).
bool parse_literal(const std::string &host, int port, SockAddr &out);

// Opens a non-blocking, close-on-exec socket with TCP_NODELAY and
// SO_KEEPALIVE and starts connecting. Returns the fd with *in_progress set
// when the connection is still under way, or -errno.
int start_connect(const SockAddr &addr, bool *in_progress);
// Result of a connect that was in progress: 0 or -errno (SO_ERROR).
int finish_connect(int fd);

// "127.0.0.1" / "::1" for messages.
std::string addr_to_string(const SockAddr &addr);

} // namespace pssh
