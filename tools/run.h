/* pssh-run's state, shared by its main program (pssh-run.c) and what it
 * prints at the end of a host and of the run (run_report.c). */
#ifndef PSSH_TOOLS_RUN_H
#define PSSH_TOOLS_RUN_H

#include "cli.h"
#include "hostfiles.h"
#include "outbuf.h"

enum mode { MODE_INLINE, MODE_GROUP, MODE_JSON, MODE_JSON_STREAM };

typedef struct {
    char *data;
    size_t len, cap;
} buf;

typedef struct {
    buf out, err;      /* kept for --group (stdout) and --json (both) */
    char *prefix;      /* "host: " (inline), or '{"index":I,"host":"H",' (--json-stream) */
    size_t prefix_len;
    int interrupted;   /* still going when a signal came: closed by us */
} host_state;

typedef struct {
    cli_conn conn;
    enum mode mode;
    const char *outdir, *errdir;
    hostfiles *outfiles, *errfiles;
    int quiet;
    int progress; /* summary at the end; -1: when stderr is a tty */
    int live;     /* the progress line itself: only on a tty */
    char *command;
    host_state *hosts;
    pssh_output **outs;
    size_t n, finished, failed, nonzero, killed, interrupted;
    int signal;   /* the signal that interrupted the run, or 0 */
    outbuf out, err; /* standard output and standard error */
    double t0, last_progress;
} run_state;

void buf_add(buf *b, const char *p, size_t n);
double now_ms(void);

/* Host i's error message for people: the library's, and for a failed
 * authentication the -i keys that were skipped; for an interrupted host,
 * what interrupted it. NULL when the host did not fail. */
const char *host_message(const run_state *st, size_t i, char *out, size_t cap);
/* --json: host i's object; --json-stream: its last one (no output fields). */
void print_json_host(run_state *st, size_t i, int with_output);
/* --json-stream: one object for one line of host i. */
void print_json_line(run_state *st, size_t i, pssh_stream s, const char *line, size_t len);
/* --group: the blocks, at the end. */
void print_groups(run_state *st);
/* The progress line (stderr is a tty), at most every 100 ms unless forced. */
void show_progress(run_state *st, int force);
/* The summary on stderr. */
void print_summary(run_state *st, double wall_ms);

#endif
