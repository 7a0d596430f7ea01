#include "posix_rename.hpp"

#include <libssh2.h>
#include <libssh2_sftp.h>

namespace pssh {

namespace {

constexpr uint32_t kRequestId = 0x7073736b; // never reached by libssh2's own counter here
constexpr unsigned char kFxpExtended = 200, kFxpStatus = 101;
constexpr size_t kMaxReply = 64 * 1024;

void put_u32(std::string &s, uint32_t v)
{
    char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    s.append(b, 4);
}

void put_str(std::string &s, const std::string &v)
{
    put_u32(s, uint32_t(v.size()));
    s += v;
}

uint32_t get_u32(const unsigned char *p)
{
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

} // namespace

void PosixRename::begin(const std::string &from, const std::string &to)
{
    std::string body;
    body += char(kFxpExtended);
    put_u32(body, kRequestId);
    put_str(body, "posix-rename@openssh.com");
    put_str(body, from);
    put_str(body, to);
    out_.clear();
    put_u32(out_, uint32_t(body.size()));
    out_ += body;
    sent_ = hdr_got_ = in_got_ = 0;
    in_.clear();
}

int PosixRename::step(LIBSSH2_SFTP *sftp, uint32_t *status)
{
    LIBSSH2_CHANNEL *ch = libssh2_sftp_get_channel(sftp);
    while (sent_ < out_.size()) {
        ssize_t n = libssh2_channel_write(ch, out_.data() + sent_, out_.size() - sent_);
        if (n < 0)
            return int(n);
        sent_ += size_t(n);
    }
    while (hdr_got_ < 4) {
        ssize_t n = libssh2_channel_read(ch, reinterpret_cast<char *>(hdr_) + hdr_got_, 4 - hdr_got_);
        if (n < 0)
            return int(n);
        if (n == 0)
            return libssh2_channel_eof(ch) ? LIBSSH2_ERROR_CHANNEL_CLOSED : LIBSSH2_ERROR_EAGAIN;
        hdr_got_ += size_t(n);
    }
    uint32_t len = get_u32(hdr_);
    if (len < 9 || len > kMaxReply)
        return LIBSSH2_ERROR_SFTP_PROTOCOL;
    in_.resize(len);
    while (in_got_ < len) {
        ssize_t n = libssh2_channel_read(ch, in_.data() + in_got_, len - in_got_);
        if (n < 0)
            return int(n);
        if (n == 0)
            return libssh2_channel_eof(ch) ? LIBSSH2_ERROR_CHANNEL_CLOSED : LIBSSH2_ERROR_EAGAIN;
        in_got_ += size_t(n);
    }
    auto *p = reinterpret_cast<const unsigned char *>(in_.data());
    if (p[0] != kFxpStatus || get_u32(p + 1) != kRequestId)
        return LIBSSH2_ERROR_SFTP_PROTOCOL;
    *status = get_u32(p + 5);
    return 0;
}

} // namespace pssh
