// One channel on a Session, of any kind: a command's output, a shell, a
// file transfer, a tunnel. The session knows its channels only through this
// interface: it steps them when its socket wakes up or when one is woken,
// and each kind is a small resumable state machine (open, run, drain,
// close) with its deadlines on the reactor.
#pragma once
#include "../util/list.hpp"
#include "../util/ref.hpp"

struct _LIBSSH2_CHANNEL;

namespace pssh {

struct SessionChannelsTag {};
struct OpenWaitersTag {};

class Channel : public RefCounted, public Linked<SessionChannelsTag>, public Linked<OpenWaitersTag> {
public:
    // What a step is waiting for.
    enum class Wait {
        None,    // nothing until woken (Session::wake) or over: not stepped
        Libssh2, // a libssh2 call said EAGAIN: stepped when the socket is ready
        Data,    // only the peer's data or EOF on handle(): polled, then stepped
    };

    // Advance as far as possible. The channel may detach itself (over).
    virtual Wait step() = 0;
    // The libssh2 channel the session polls while the step said Data.
    virtual _LIBSSH2_CHANNEL *handle() const noexcept = 0;
    // Data libssh2 queued for this channel cannot be taken until the caller
    // reads: a socket's end is held back until it can.
    virtual bool waits_for_reader() const noexcept { return false; }
    // The session's connection is closing with this channel still attached
    // (only a background cleanup can be: outputs hold their session). Its
    // socket is already shut down, so every libssh2 call fails at once: the
    // channel frees what libssh2 keeps for it that libssh2_session_free
    // would not (SFTP handles and SFTP sessions), and lets go of itself.
    virtual void transport_closing() noexcept {}

protected:
    Channel() = default;
    ~Channel() override = default;

private:
    friend class Session;
    Wait last_ = Wait::Libssh2; // what its last step waited for
    bool woken_ = true;         // step it on the next pass, whatever it waits for
};

} // namespace pssh
