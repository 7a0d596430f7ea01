/* Output to a descriptor through one buffer of our own: a line's prefix and
 * text are copied in together and written out in large writes, when the
 * buffer is full or when the caller flushes (pssh-run: every 100 ms). One
 * memcpy per piece and one write per many lines, where stdio took its FILE
 * lock three times per line. */
#ifndef PSSH_TOOLS_OUTBUF_H
#define PSSH_TOOLS_OUTBUF_H

#include <stddef.h>

typedef struct {
    int fd;
    char *data;
    size_t len, cap;
    int err; /* errno of the first write that failed (0: none); later output is dropped */
} outbuf;

/* cap: the buffer's size (exits 70 when it cannot be had). */
void ob_init(outbuf *b, int fd, size_t cap);
void ob_free(outbuf *b);
/* Writes out what is held: every byte, or until a write fails (b->err). */
void ob_flush(outbuf *b);
/* Room for n more bytes, flushing first if needed; returns where to write
 * them (then ob_commit), or NULL when n is larger than the buffer. */
char *ob_reserve(outbuf *b, size_t n);
static inline void ob_commit(outbuf *b, size_t n) { b->len += n; }
void ob_put(outbuf *b, const void *p, size_t n);
void ob_puts(outbuf *b, const char *s);
void ob_printf(outbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
