// The stream between a host's session and its forwarder thread: a
// connected pair of Unix stream sockets, non-blocking and close-on-exec.
#pragma once

namespace pssh {

// 0, or -errno (EMFILE, ENFILE...).
int make_socket_pair(int fds[2]) noexcept;

} // namespace pssh
