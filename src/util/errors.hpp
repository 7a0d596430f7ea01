#pragma once
#include "pssh/pssh.h"

namespace pssh {
const char *error_text(pssh_err e); // never null
const char *error_name(pssh_err e); // never null
} // namespace pssh
