// A host's error: its class and a message naming host, phase and cause.
#pragma once
#include "pssh/pssh.h"

#include <string>

namespace pssh {

struct Failure {
    pssh_err code = PSSH_OK;
    std::string msg;

    explicit operator bool() const noexcept { return code != PSSH_OK; }
    void set(pssh_err c, std::string m)
    {
        code = c;
        msg = std::move(m);
    }
    void clear() noexcept
    {
        code = PSSH_OK;
        msg.clear();
    }
};

// The text libssh2 left for its last error ("" if none).
std::string libssh2_message(void *session);

} // namespace pssh
