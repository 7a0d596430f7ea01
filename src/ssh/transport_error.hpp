// libssh2 errors that mean the connection itself is gone (not just one
// channel or request), for every channel kind.
#pragma once
#include <libssh2.h>

namespace pssh {

inline bool is_transport_error(long rc) noexcept
{
    switch (rc) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_INVALID_MAC:
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_BAD_SOCKET:
    case LIBSSH2_ERROR_ENCRYPT:
    case LIBSSH2_ERROR_COMPRESS:
    case LIBSSH2_ERROR_ZLIB:
        return true;
    }
    return false;
}

} // namespace pssh
