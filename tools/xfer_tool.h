/* What pssh-copy and pssh-slurp share: their options (pssh-run's host and
 * connection options, plus the transfer's), one parallel transfer with a
 * progress line, errors as hosts end, JSON, the summary and the exit
 * status. Plain C over the public header. */
#ifndef PSSH_TOOLS_XFER_TOOL_H
#define PSSH_TOOLS_XFER_TOOL_H

#include "cli.h"

typedef struct {
    const char *prog;
    cli_conn conn;
    int scp, recurse, preserve, copy_links;
    int json, quiet;
    int progress; /* summary (and the live line on a tty); -1: when stderr is a tty */
    int live;
    pssh_parallel *p;
    pssh_config *cfg;
    /* totals over every run */
    size_t runs, host_results, failed;
    unsigned long long bytes;
    double t0;
} xfer_tool;

/* Parses the options; returns the index of the first operand. `usage`
 * prints the tool's own help (to stdout) for --help. Exits on usage
 * errors (CLI_USAGE). -p and -r are preserve and recurse here, as in scp
 * and pdcp: the port and the retries are -P/--port and --retries. */
int xfer_parse(xfer_tool *x, int argc, char **argv, void (*usage)(void));
/* Text for --help: the transfer options. */
extern const char xfer_help[];
/* Connects the parallel client (after parsing). */
void xfer_start(xfer_tool *x);
/* One transfer on every host (put: local -> remote; get: remote -> local
 * with sep, or args one per host). Returns the number of failed hosts. */
size_t xfer_run(xfer_tool *x, int put, const char *local, const char *remote, const char *sep,
                const pssh_copy_arg *args);
/* Summary, release; the exit status: 0 all ok, 2 some host failed. */
int xfer_finish(xfer_tool *x);

#endif
