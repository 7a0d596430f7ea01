/* One file per host in a directory (pssh-run -o and -e), opened when the
 * host first writes to it, not before: a run over thousands of hosts holds
 * a file descriptor only for the hosts that are printing. At most `budget`
 * files are open at once; past that, or when open() runs out of
 * descriptors, the least recently written one is closed, and reopened
 * later in append mode. A host that never wrote gets its empty file when
 * it is finished. */
#ifndef PSSH_TOOLS_HOSTFILES_H
#define PSSH_TOOLS_HOSTFILES_H

#include <stddef.h>

typedef struct hostfiles hostfiles;

/* Files for hosts[0..n) in dir, named after the host as given ('/' -> '_'),
 * a host given again getting ".2", ".3"... (exits 70 on out of memory). */
hostfiles *hf_new(const char *prog, const char *dir, char *const *hosts, size_t n, size_t budget);
/* Appends to host i's file. A file that cannot be made or written is
 * reported once on stderr and counted (hf_failed); its host goes on. */
void hf_write(hostfiles *f, size_t i, const char *p, size_t n);
/* Host i is done: its file is closed, or made empty if it never wrote. */
void hf_finish(hostfiles *f, size_t i);
/* Writes out what the open files hold (stdio buffers). */
void hf_flush(hostfiles *f);
/* Finishes every host, frees, and returns how many files could not be made
 * or written (0 for NULL). */
size_t hf_close(hostfiles *f);

#endif
