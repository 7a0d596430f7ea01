/* JSON string output that never drops a byte: valid UTF-8 passes through
 * (escaped as JSON requires); each byte that is not part of valid UTF-8 is
 * written as the lone surrogate \udcXX (XX = the byte), the "surrogateescape"
 * scheme of PEP 383, which valid UTF-8 can never produce. Python decodes it
 * back with json.loads(s) then .encode('utf-8', 'surrogateescape'). */
#ifndef PSSH_TOOLS_JSON_H
#define PSSH_TOOLS_JSON_H

#include "outbuf.h"

#include <stddef.h>

void json_string(outbuf *b, const char *s, size_t len);
/* A NUL-terminated string, or null when s is NULL. */
void json_cstr(outbuf *b, const char *s);

#endif
