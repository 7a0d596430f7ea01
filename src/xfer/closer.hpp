// What a transfer leaves behind when it stops early (failed, timed out,
// closed or released): an SFTP or SCP start still in flight (libssh2 keeps
// its state in the session, so it must be finished), an open SFTP handle,
// a remote temporary file to remove, and the SFTP session itself. A small
// channel of its own finishes that in the background, within a deadline,
// and then lets go of itself. It holds no reference to the session: once
// nobody else does (the client and its outputs released), the session goes
// and the cleanup is abandoned with it, so a loop that never runs again
// cannot keep the connection, the loop and their descriptors. Given up (a
// connection that is gone, or the deadline), it sends nothing more and no
// longer holds pssh_loop_run, but stays attached until the connection
// closes: libssh2_session_free does not free SFTP handles and SFTP
// sessions, so the cleanup frees them then (transport_closing).
#pragma once
#include "../ssh/session.hpp"

#include <string>

struct _LIBSSH2_SFTP;
struct _LIBSSH2_SFTP_HANDLE;

namespace pssh {

struct Leftovers {
    enum class Open { None, SftpInit, ScpSend, ScpRecv };
    Open open = Open::None;     // a start in flight (holds the session's open slot)
    std::string scp_path;       // its arguments, repeated until it completes
    int scp_mode = 0;
    int64_t scp_size = 0;
    long scp_mtime = 0, scp_atime = 0;
    _LIBSSH2_SFTP *sftp = nullptr;
    _LIBSSH2_SFTP_HANDLE *handle = nullptr;
    std::string unlink;         // a remote temporary file
    bool any() const noexcept { return open != Open::None || sftp || handle; }
};

class XferCloser final : public Channel {
public:
    // Takes over `l` and the session's open slot from `from` if it holds it.
    static void start(Session &s, Channel *from, Leftovers l);
    Wait step() override;
    _LIBSSH2_CHANNEL *handle() const noexcept override { return nullptr; }
    void transport_closing() noexcept override;

private:
    XferCloser(Session &s, Leftovers l);
    ~XferCloser() override;
    void finish() noexcept;
    void give_up() noexcept;
    static void on_deadline(void *self);

    Session *session_;     // outlives us: ended by transport_closing()
    bool holding_ = false; // holds pssh_loop_run (Reactor::hold)
    bool given_up_ = false;
    Ref<XferCloser> self_; // alive until done
    Leftovers l_;
    Timer deadline_{&XferCloser::on_deadline, this};
};

} // namespace pssh
