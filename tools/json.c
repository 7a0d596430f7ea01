#include "json.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        min = 0x80;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong, out of range, or a surrogate */
    return n;
}

/* Bytes that go out as they are: printable ASCII but '"' and '\\'. */
static int plain(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

void json_string(outbuf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    ob_put(b, "\"", 1);
    size_t run = 0; /* start of the bytes not written yet, all plain or valid UTF-8 */
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (plain(c)) {
            i++;
            continue;
        }
        size_t n = c >= 0x80 ? utf8_len(p + i, len - i) : 1;
        if (n > 1) {
            i += n;
            continue;
        }
        ob_put(b, p + run, i - run);
        char esc[8];
        if (n == 0)
            snprintf(esc, sizeof esc, "\\udc%02x", c);
        else if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (c == '\r')
            snprintf(esc, sizeof esc, "\\r");
        else if (c == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        ob_puts(b, esc);
        run = ++i;
    }
    ob_put(b, p + run, len - run);
    ob_put(b, "\"", 1);
}

void json_cstr(outbuf *b, const char *s)
{
    if (s)
        json_string(b, s, strlen(s));
    else
        ob_puts(b, "null");
}
