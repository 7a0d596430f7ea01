// posix-rename@openssh.com: rename(2) on the server, replacing the target
// atomically. libssh2 1.10 does not have it: its libssh2_sftp_rename_ex
// sends the OVERWRITE|ATOMIC|NATIVE flags only to servers of SFTP version 5
// or more, and OpenSSH speaks version 3, where SSH_FXP_RENAME refuses an
// existing target. The request goes out on the SFTP channel itself, while
// no libssh2 SFTP call is in flight on it (the transfer owns its SFTP
// session), and its status reply is read back the same way.
#pragma once
#include <cstdint>
#include <string>

struct _LIBSSH2_SFTP;

namespace pssh {

class PosixRename {
public:
    void begin(const std::string &from, const std::string &to);
    // LIBSSH2_ERROR_EAGAIN; 0 with the SFTP status in *status; or a
    // negative libssh2 error (the channel failed, or a reply we did not ask for).
    int step(_LIBSSH2_SFTP *sftp, uint32_t *status);

private:
    std::string out_;
    size_t sent_ = 0;
    unsigned char hdr_[4];
    size_t hdr_got_ = 0;
    std::string in_;
    size_t in_got_ = 0;
};

} // namespace pssh
