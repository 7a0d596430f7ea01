#include "../util/errors.hpp"
#include "glue.hpp"
#include "pssh/pssh.h"

#include <libssh2.h>

extern "C" {

PSSH_API const char *pssh_strerror(pssh_err err) { return pssh::error_text(pssh::capi::enum_value(err)); }

PSSH_API const char *pssh_err_name(pssh_err err) { return pssh::error_name(pssh::capi::enum_value(err)); }

PSSH_API const char *pssh_version(void) { return PSSH_VERSION_STR " (libssh2 " LIBSSH2_VERSION ")"; }

PSSH_API unsigned pssh_version_num(void) { return PSSH_VERSION_NUM; }

} // extern "C"
