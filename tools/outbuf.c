#include "outbuf.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ob_init(outbuf *b, int fd, size_t cap)
{
    b->fd = fd;
    b->len = 0;
    b->cap = cap;
    b->err = 0;
    b->data = malloc(cap);
    if (!b->data) {
        fprintf(stderr, "out of memory\n");
        exit(70);
    }
}

void ob_free(outbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Every byte of p, or the first error in b->err. A descriptor left
 * non-blocking by whoever gave it to us is waited for, not dropped; a
 * signal that interrupts a write is the caller's business, after it. */
static void write_all(outbuf *b, const char *p, size_t n)
{
    while (n > 0 && !b->err) {
        ssize_t w = write(b->fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = b->fd, .events = POLLOUT};
            poll(&pfd, 1, -1);
        } else {
            b->err = w < 0 ? errno : EIO;
        }
    }
}

void ob_flush(outbuf *b)
{
    if (b->len)
        write_all(b, b->data, b->len);
    b->len = 0;
}

char *ob_reserve(outbuf *b, size_t n)
{
    if (n > b->cap)
        return NULL;
    if (b->cap - b->len < n)
        ob_flush(b);
    return b->data + b->len;
}

void ob_put(outbuf *b, const void *p, size_t n)
{
    char *d = ob_reserve(b, n);
    if (d) {
        memcpy(d, p, n);
        b->len += n;
        return;
    }
    ob_flush(b); /* larger than the buffer: straight out, in order */
    write_all(b, p, n);
}

void ob_puts(outbuf *b, const char *s) { ob_put(b, s, strlen(s)); }

void ob_printf(outbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        ob_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ob_put(b, big, (size_t)n);
    free(big);
}
