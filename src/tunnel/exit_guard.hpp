// Forwarder threads at process exit. exit() does not release the caller's
// handles, so a forwarder whose client is still held would run on while
// exit() tears down the process (OpenSSL's atexit cleanup frees what its
// crypto uses: a crash). Every running forwarder is listed here, and an
// atexit handler, registered after libssh2 and OpenSSL set up theirs (so
// it runs before them), stops and joins every one still listed.
#pragma once

namespace pssh {

class ForwarderThread;

namespace exit_guard {

// Lists t before its thread starts; false once the process is exiting.
bool enter(ForwarderThread *t);
// Unlists t: true when the caller is to stop and join it, false when the
// exit handler has (or is doing) that already.
bool leave(ForwarderThread *t) noexcept;

} // namespace exit_guard
} // namespace pssh
