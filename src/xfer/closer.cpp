#include "closer.hpp"

#include <libssh2.h>
#include <libssh2_sftp.h>

namespace pssh {

namespace {
constexpr int kCloseDeadlineMs = 10000;
}

void XferCloser::start(Session &s, Channel *from, Leftovers l)
{
    if (!s.raw()) { // libssh2 is gone, and all it held with it
        s.release_open(from);
        return;
    }
    auto *c = new XferCloser(s, std::move(l));
    c->self_ = Ref<XferCloser>::adopt(c);
    if (c->l_.open != Leftovers::Open::None && !s.over()) {
        s.release_open(from);
        s.acquire_open(c); // free now: nobody ran in between
    } else {
        c->l_.open = Leftovers::Open::None; // nothing more can be sent
        s.release_open(from);
    }
    if (s.over()) {
        c->given_up_ = true; // waits, attached, for the transport to close
    } else {
        s.loop().reactor().arm(c->deadline_, now_ns() + ms_to_ns(kCloseDeadlineMs));
        s.loop().reactor().hold(); // pssh_loop_run waits for the cleanup
        c->holding_ = true;
    }
    s.attach(c);
}

XferCloser::XferCloser(Session &s, Leftovers l) : session_(&s), l_(std::move(l)) {}

XferCloser::~XferCloser()
{
    session_->loop().reactor().cancel(deadline_);
    session_->release_open(this);
    session_->detach(this);
}

void XferCloser::on_deadline(void *p)
{
    auto *self = static_cast<XferCloser *>(p);
    self->session_->loop().log(PSSH_LOG_DEBUG, "%s: transfer cleanup abandoned after %d ms",
                               self->session_->settings().display.c_str(), kCloseDeadlineMs);
    self->give_up();
}

// Nothing more is sent, and pssh_loop_run no longer waits for us; what
// libssh2 holds for the transfer is freed when the connection closes.
void XferCloser::give_up() noexcept
{
    given_up_ = true;
    session_->loop().reactor().cancel(deadline_);
    session_->release_open(this);
    if (holding_) {
        holding_ = false;
        session_->loop().reactor().release();
    }
}

// The socket is shut down: the calls below fail at once, and libssh2 1.10
// frees the handle and the SFTP session on those failures.
void XferCloser::transport_closing() noexcept
{
    if (session_->raw()) {
        if (l_.handle)
            (void)libssh2_sftp_close_handle(l_.handle);
        if (l_.sftp)
            (void)libssh2_sftp_shutdown(l_.sftp);
    }
    l_.handle = nullptr;
    l_.sftp = nullptr;
    finish();
}

// Done: nothing of the transfer is left in libssh2.
void XferCloser::finish() noexcept
{
    if (!self_)
        return;
    give_up();
    session_->detach(this);
    Ref<XferCloser> last = std::move(self_); // may delete us when it goes
}

Channel::Wait XferCloser::step()
{
    Session &s = *session_;
    LIBSSH2_SESSION *raw = s.raw();
    if (!raw) {
        finish();
        return Wait::None;
    }
    if (given_up_ || s.over()) {
        give_up();
        return Wait::None;
    }
    switch (l_.open) {
    case Leftovers::Open::SftpInit: {
        LIBSSH2_SFTP *sftp = libssh2_sftp_init(raw);
        if (!sftp && libssh2_session_last_errno(raw) == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        l_.sftp = sftp;
        break;
    }
    case Leftovers::Open::ScpSend:
    case Leftovers::Open::ScpRecv: {
        libssh2_struct_stat st;
        LIBSSH2_CHANNEL *ch = l_.open == Leftovers::Open::ScpSend
                                  ? libssh2_scp_send64(raw, l_.scp_path.c_str(), l_.scp_mode, l_.scp_size,
                                                       l_.scp_mtime, l_.scp_atime)
                                  : libssh2_scp_recv2(raw, l_.scp_path.c_str(), &st);
        if (!ch && libssh2_session_last_errno(raw) == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        s.adopt_channel(ch);
        break;
    }
    case Leftovers::Open::None:
        break;
    }
    if (l_.open != Leftovers::Open::None) {
        l_.open = Leftovers::Open::None;
        s.release_open(this);
    }
    if (l_.handle) {
        int rc = libssh2_sftp_close_handle(l_.handle);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        l_.handle = nullptr;
    }
    if (l_.sftp && !l_.unlink.empty()) {
        int rc = libssh2_sftp_unlink_ex(l_.sftp, l_.unlink.data(), unsigned(l_.unlink.size()));
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        l_.unlink.clear();
    }
    if (l_.sftp) {
        int rc = libssh2_sftp_shutdown(l_.sftp);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        l_.sftp = nullptr;
    }
    finish();
    return Wait::None;
}

} // namespace pssh
