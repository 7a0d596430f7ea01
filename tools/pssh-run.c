/* pssh-run: run a command on many hosts at once. A thin program over the
 * public libpssh API: everything it does, a C caller can do.
 *
 * The run is started without waiting (pssh_parallel_start_command) and
 * driven by our own loop of 100 ms joins, so output streams from the first
 * byte and a signal is seen within 100 ms. Lines go into one buffer per
 * standard stream, written out when full and at every tick. */
#include "cli.h"
#include "json.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_INLINE = CLI_OPT_TOOL_BASE,
    OPT_GROUP,
    OPT_JSON,
    OPT_JSON_STREAM,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
};

enum {
    OUT_BUF = 1 << 20,  /* standard output: large writes, few of them */
    ERR_BUF = 64 << 10, /* standard error */
    PIPE_SIZE = 1 << 20,
    TICK_MS = 100,
    EXIT_FILES = 73,  /* EX_CANTCREAT */
    EXIT_OUTPUT = 74, /* EX_IOERR */
};

static const char *prog = "pssh-run";

static void usage(void)
{
    printf("Usage: %s [options] [--] COMMAND [ARG...]\n"
           "Run COMMAND on many hosts at once and show what each prints.\n\n%s"
           "Output:\n"
           "      --inline                   'host: line' as lines arrive (default); stderr to stderr\n"
           "      --group                    identical stdout printed once with its host list\n"
           "      --json                     one JSON object per host, as each finishes (see pssh-run(1))\n"
           "      --json-stream              one JSON object per output line, then one per host's end\n"
           "  -o, --outdir DIR               also write each host's stdout to DIR/HOST\n"
           "  -e, --errdir DIR               also write each host's stderr to DIR/HOST\n"
           "  -q, --quiet                    no output but errors (files still written)\n"
           "      --progress / --no-progress progress line and summary on stderr (default: on a tty)\n"
           "      --version, --help\n\n"
           "Exit status: 0 every host ran and exited 0; 1 some command exited non-zero or was\n"
           "killed; 2 some host failed (connect, auth, timeout, ...); 64 usage error; 73 a file\n"
           "in -o/-e could not be written; 74 standard output could not be written;\n"
           "128+N interrupted by signal N (SIGHUP, SIGINT, SIGTERM).\n",
           prog, cli_conn_help(0));
}

/* ---- Signals: the first SIGINT, SIGTERM or SIGHUP ends the run in order
 * (what was printed stays, a summary says what did not finish); a second
 * one ends the process at once. ---- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    if (got_signal) {
        signal(sig, SIG_DFL);
        raise(sig); /* delivered when this handler returns */
        return;
    }
    got_signal = sig;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: a wait returns early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* ---- Output as it arrives ---- */

/* "host: line", in one piece; a last line without newline gets one, and so
 * does each piece of a line longer than the library's buffer. */
static void put_line(outbuf *b, const host_state *h, const char *line, size_t len)
{
    size_t nl = len == 0 || line[len - 1] != '\n';
    size_t need = h->prefix_len + len + nl;
    char *d = ob_reserve(b, need);
    if (d) {
        memcpy(d, h->prefix, h->prefix_len);
        memcpy(d + h->prefix_len, line, len);
        if (nl)
            d[need - 1] = '\n';
        ob_commit(b, need);
        return;
    }
    ob_put(b, h->prefix, h->prefix_len);
    ob_put(b, line, len);
    if (nl)
        ob_put(b, "\n", 1);
}

static void on_line(pssh_output *o, size_t i, pssh_stream s, const char *line, size_t len, void *ud)
{
    (void)o;
    run_state *st = ud;
    host_state *h = &st->hosts[i];
    hostfiles *files = s == PSSH_STDOUT ? st->outfiles : st->errfiles;
    if (files)
        hf_write(files, i, line, len);
    if (st->quiet)
        return;
    switch (st->mode) {
    case MODE_JSON:
        buf_add(s == PSSH_STDOUT ? &h->out : &h->err, line, len);
        return;
    case MODE_JSON_STREAM:
        print_json_line(st, i, s, line, len);
        return;
    case MODE_GROUP:
        if (s == PSSH_STDOUT) {
            buf_add(&h->out, line, len);
            return;
        }
        break;
    case MODE_INLINE:
        break;
    }
    put_line(s == PSSH_STDOUT ? &st->out : &st->err, h, line, len);
}

static void on_exit_cb(pssh_output *o, size_t i, void *ud)
{
    run_state *st = ud;
    host_state *h = &st->hosts[i];
    st->finished++;
    if (h->interrupted) {
        st->interrupted++;
    } else if (pssh_output_error(o)) {
        st->failed++;
        char msg[2048];
        if (st->live)
            ob_puts(&st->err, "\r\033[K");
        /* The message names the host, phase and cause already. */
        ob_printf(&st->err, "%s [%s]\n", host_message(st, i, msg, sizeof msg), pssh_err_name(pssh_output_error(o)));
    } else if (pssh_output_exit_signal(o)) {
        st->killed++;
    } else if (pssh_output_exit_code(o) != 0) {
        st->nonzero++;
    }
    if (st->outfiles)
        hf_finish(st->outfiles, i);
    if (st->errfiles)
        hf_finish(st->errfiles, i);
    if (!st->quiet && (st->mode == MODE_JSON || st->mode == MODE_JSON_STREAM))
        print_json_host(st, i, st->mode == MODE_JSON);
    if (st->live)
        show_progress(st, st->finished == st->n);
}

/* Every tick: what is held goes out. */
static void tick(run_state *st)
{
    if (st->live)
        show_progress(st, 0);
    if (st->outfiles)
        hf_flush(st->outfiles);
    if (st->errfiles)
        hf_flush(st->errfiles);
    ob_flush(&st->out);
    ob_flush(&st->err);
}

/* A signal came: every host still going is closed now (the exit callback
 * then runs for it), so its output so far is delivered and its files are
 * closed. */
static void interrupt(run_state *st)
{
    st->signal = got_signal;
    for (size_t i = 0; i < st->n; i++) {
        if (!pssh_output_finished(st->outs[i])) {
            st->hosts[i].interrupted = 1;
            pssh_output_close(st->outs[i]);
        }
    }
}

/* ---- Options ---- */

static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = calloc(len, 1);
    if (!s)
        exit(70);
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

/* -o and -e: made if missing; an existing one must be a directory. */
static void check_dir(const char *opt, const char *d)
{
    struct stat sb;
    if (mkdir(d, 0755) != 0 && errno != EEXIST)
        cli_usage_error(prog, "%s %s: cannot create it: %s", opt, d, strerror(errno));
    if (stat(d, &sb) != 0)
        cli_usage_error(prog, "%s %s: %s", opt, d, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        cli_usage_error(prog, "%s %s: not a directory", opt, d);
}

static void parse(run_state *st, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_CONN_LONGOPTS,
        {"inline", no_argument, 0, OPT_INLINE},
        {"group", no_argument, 0, OPT_GROUP},
        {"json", no_argument, 0, OPT_JSON},
        {"json-stream", no_argument, 0, OPT_JSON_STREAM},
        {"outdir", required_argument, 0, 'o'},
        {"errdir", required_argument, 0, 'e'},
        {"quiet", no_argument, 0, 'q'},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"no-progress", no_argument, 0, OPT_NO_PROGRESS},
        {0, 0, 0, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:" CLI_CONN_SHORTOPTS "o:e:q", longopts, NULL)) != -1) {
        if (cli_conn_option(&st->conn, opt, optarg))
            continue;
        switch (opt) {
        case OPT_INLINE:
            st->mode = MODE_INLINE;
            break;
        case OPT_GROUP:
            st->mode = MODE_GROUP;
            break;
        case OPT_JSON:
            st->mode = MODE_JSON;
            break;
        case OPT_JSON_STREAM:
            st->mode = MODE_JSON_STREAM;
            break;
        case 'o':
            st->outdir = optarg;
            break;
        case 'e':
            st->errdir = optarg;
            break;
        case 'q':
            st->quiet = 1;
            break;
        case OPT_PROGRESS:
            st->progress = 1;
            break;
        case OPT_NO_PROGRESS:
            st->progress = 0;
            break;
        case CLI_OPT_VERSION:
            printf("pssh-run (libpssh %s)\n", pssh_version());
            exit(0);
        case CLI_OPT_HELP:
            usage();
            exit(0);
        default:
            cli_option_error(prog, opt, argv);
        }
    }
    if (optind >= argc)
        cli_usage_error(prog, "no command given");
    st->command = join_args(argc - optind, argv + optind);
    cli_conn_check(&st->conn);
    if (st->outdir)
        check_dir("-o", st->outdir);
    if (st->errdir)
        check_dir("-e", st->errdir);
    if (st->progress < 0)
        st->progress = isatty(2) && !st->quiet;
    st->live = st->progress && isatty(2);
}

/* ---- The run ---- */

/* The text each line of host i starts with, made once. */
static void make_prefix(run_state *st, size_t i)
{
    host_state *h = &st->hosts[i];
    const char *name = st->conn.hosts.v[i];
    if (st->mode == MODE_JSON_STREAM) {
        outbuf tmp;
        ob_init(&tmp, -1, strlen(name) * 6 + 64);
        ob_printf(&tmp, "{\"index\":%zu,\"host\":", i);
        json_cstr(&tmp, name);
        ob_put(&tmp, ",", 1);
        h->prefix = tmp.data;
        h->prefix_len = tmp.len;
        return;
    }
    h->prefix_len = strlen(name) + 2;
    h->prefix = malloc(h->prefix_len + 1);
    if (!h->prefix)
        exit(70);
    snprintf(h->prefix, h->prefix_len + 1, "%s: ", name);
}

/* Standard output into a pipe: a larger pipe lets our large writes through
 * without waiting for each 64 KiB the reader takes (best effort). */
static void widen_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode) && fcntl(fd, F_GETPIPE_SZ) < PIPE_SIZE)
        fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
#else
    (void)fd;
#endif
}

int main(int argc, char **argv)
{
    run_state st;
    memset(&st, 0, sizeof st);
    st.mode = MODE_INLINE;
    st.progress = -1;
    cli_init(&st.conn, prog);
    st.conn.ssh_config_default = 1; /* as ssh: ~/.ssh/config, /etc/ssh/ssh_config */
    parse(&st, argc, argv);
    size_t nofile = cli_raise_nofile();
    st.n = st.conn.hosts.n;
    st.hosts = calloc(st.n, sizeof *st.hosts);
    st.outs = calloc(st.n, sizeof *st.outs);
    if (!st.hosts || !st.outs)
        return 70;
    widen_pipe(1);
    ob_init(&st.out, 1, OUT_BUF);
    ob_init(&st.err, 2, ERR_BUF);
    for (size_t i = 0; i < st.n; i++)
        make_prefix(&st, i);
    /* Files get a quarter of the descriptors, the connections the rest. */
    size_t dirs = (st.outdir != NULL) + (st.errdir != NULL);
    size_t budget = dirs ? (nofile / 4 > 2 ? nofile / 4 : 2) / dirs : 0;
    if (st.outdir)
        st.outfiles = hf_new(prog, st.outdir, st.conn.hosts.v, st.n, budget);
    if (st.errdir)
        st.errfiles = hf_new(prog, st.errdir, st.conn.hosts.v, st.n, budget);

    pssh_config *cfg = cli_make_config(&st.conn);
    pssh_parallel *p = NULL;
    pssh_loop *loop = cli_make_loop(&st.conn); /* ssh_config warnings on stderr */
    pssh_err rc = pssh_parallel_new(loop, (const char *const *)st.conn.hosts.v, st.n, cfg, NULL, &p);
    pssh_loop_unref(loop); /* the parallel client holds it */
    if (rc != PSSH_OK) {
        fprintf(stderr, "%s: %s\n", prog, pssh_strerror(rc));
        return 70;
    }
    if (st.conn.fanout)
        pssh_parallel_set_pool_size(p, st.conn.fanout);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_parallel_set_keep_connections(p, 0); /* one shot: a finished host's descriptor goes back */
    pssh_parallel_set_callbacks(p, on_line, on_exit_cb, &st);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.timeout_ms = st.conn.command_timeout_ms;
    catch_signals();
    st.t0 = now_ms();
    rc = pssh_parallel_start_command(p, st.command, &opts, st.outs);
    if (rc != PSSH_OK) { /* the command itself was refused (too long) */
        const char *why = pssh_parallel_error_message(p);
        fprintf(stderr, "%s: %s\n", prog, *why ? why : pssh_strerror(rc));
        return rc == PSSH_E_INVAL ? CLI_USAGE : 70;
    }
    int status = 0;
    while (!pssh_parallel_finished(p) && !got_signal) {
        rc = pssh_parallel_join(p, TICK_MS, 0, NULL);
        if (rc != PSSH_OK && rc != PSSH_E_TIMEOUT) {
            fprintf(stderr, "%s: %s\n", prog, pssh_strerror(rc));
            status = 70;
            break;
        }
        tick(&st);
    }
    if (got_signal)
        interrupt(&st);
    if (st.mode == MODE_GROUP && !st.quiet)
        print_groups(&st);
    ob_flush(&st.out);
    if (st.progress > 0 || st.signal)
        print_summary(&st, now_ms() - st.t0);
    /* Every host has its files, empty if it printed nothing. */
    size_t file_failures = hf_close(st.outfiles) + hf_close(st.errfiles);
    if (st.out.err)
        ob_printf(&st.err, "%s: standard output: %s\n", prog, strerror(st.out.err));
    ob_flush(&st.err);

    for (size_t i = 0; i < st.n; i++) {
        pssh_output_unref(st.outs[i]);
        free(st.hosts[i].out.data);
        free(st.hosts[i].err.data);
        free(st.hosts[i].prefix);
    }
    pssh_parallel_unref(p); /* the last connections close here, without waiting */
    pssh_config_free(cfg);
    if (st.signal)
        status = 128 + st.signal;
    else if (status)
        ;
    else if (st.out.err)
        status = EXIT_OUTPUT;
    else if (file_failures)
        status = EXIT_FILES;
    else if (st.failed)
        status = 2;
    else if (st.nonzero || st.killed)
        status = 1;
    cli_free(&st.conn);
    ob_free(&st.out);
    ob_free(&st.err);
    free(st.outs);
    free(st.hosts);
    free(st.command);
    return status;
}
