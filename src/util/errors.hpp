#pragma once
#include "pssh/pssh.h"

namespace pssh {
const char *error_text(int e); // never null
const char *error_name(int e); // never null
} // namespace pssh
