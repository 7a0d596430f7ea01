/* pssh-run: run a command on many hosts at once. A thin program over the
 * public libpssh API: everything it does, a C caller can do. */
#include "cli.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_INLINE, MODE_GROUP, MODE_JSON };
enum {
    OPT_INLINE = CLI_OPT_TOOL_BASE,
    OPT_GROUP,
    OPT_JSON,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
};

typedef struct {
    char *data;
    size_t len, cap;
} buf;

typedef struct {
    buf out, err;         /* kept for --group (stdout) and --json (both) */
    FILE *out_file, *err_file;
    int done;
} host_state;

typedef struct {
    cli_conn conn;
    enum mode mode;
    const char *outdir, *errdir;
    int quiet;
    int progress; /* summary at the end; -1: when stderr is a tty */
    int live;     /* the progress line itself: only on a tty */
    char *command;
    host_state *hosts;
    size_t n, finished, failed, nonzero;
    double last_progress;
} run_state;

static const char *prog = "pssh-run";

static void usage(void)
{
    printf("Usage: %s [options] [--] COMMAND [ARG...]\n"
           "Run COMMAND on many hosts at once and show what each prints.\n\n%s"
           "Output:\n"
           "      --inline                   'host: line' as lines arrive (default); stderr to stderr\n"
           "      --group                    identical stdout printed once with its host list\n"
           "      --json                     one JSON object per host per line (see pssh-run(1))\n"
           "  -o, --outdir DIR               also write each host's stdout to DIR/HOST\n"
           "  -e, --errdir DIR               also write each host's stderr to DIR/HOST\n"
           "  -q, --quiet                    no output but errors (files still written)\n"
           "      --progress / --no-progress progress line and summary on stderr (default: on a tty)\n"
           "      --version, --help\n\n"
           "Exit status: 0 every host ran and exited 0; 1 some command exited non-zero or was\n"
           "killed; 2 some host failed (connect, auth, timeout, ...); 64 usage error.\n",
           prog, cli_conn_help);
}

static void buf_add(buf *b, const char *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            fprintf(stderr, "%s: out of memory keeping output\n", prog);
            exit(70);
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One file per host in dir, named after the host as given ('/' -> '_');
 * a repeated host gets ".2", ".3"... */
static FILE *open_host_file(const char *dir, const char *host, size_t index, run_state *st)
{
    char name[512], path[1024];
    snprintf(name, sizeof name, "%s", host);
    for (char *c = name; *c; c++)
        if (*c == '/')
            *c = '_';
    int dup = 1;
    for (size_t j = 0; j < index; j++)
        dup += strcmp(st->conn.hosts.v[j], host) == 0;
    if (dup > 1)
        snprintf(path, sizeof path, "%s/%s.%d", dir, name, dup);
    else
        snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "we");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        exit(73);
    }
    return f;
}

static void put_line(FILE *f, const char *host, const char *line, size_t len)
{
    fputs(host, f);
    fputs(": ", f);
    fwrite(line, 1, len, f);
    if (len == 0 || line[len - 1] != '\n')
        fputc('\n', f); /* a last line without newline is still a line */
}

static void on_line(pssh_output *o, size_t i, pssh_stream s, const char *line, size_t len, void *ud)
{
    run_state *st = ud;
    host_state *h = &st->hosts[i];
    FILE *file = s == PSSH_STDOUT ? h->out_file : h->err_file;
    if (file)
        fwrite(line, 1, len, file);
    if (st->mode == MODE_JSON) {
        buf_add(s == PSSH_STDOUT ? &h->out : &h->err, line, len);
        return;
    }
    if (st->mode == MODE_GROUP && s == PSSH_STDOUT) {
        buf_add(&h->out, line, len);
        return;
    }
    if (!st->quiet)
        put_line(s == PSSH_STDOUT ? stdout : stderr, pssh_output_alias(o), line, len);
}

static void print_json(pssh_output *o, size_t i, host_state *h)
{
    pssh_timings t;
    pssh_output_timings(o, &t);
    pssh_err err = pssh_output_error(o);
    int code = pssh_output_exit_code(o);
    printf("{\"index\":%zu,\"host\":", i);
    json_cstr(stdout, pssh_output_host(o));
    printf(",\"alias\":");
    json_cstr(stdout, pssh_output_alias(o));
    if (code >= 0)
        printf(",\"exit_code\":%d", code);
    else
        printf(",\"exit_code\":null");
    printf(",\"exit_signal\":");
    json_cstr(stdout, pssh_output_exit_signal(o));
    printf(",\"stdout\":");
    json_string(stdout, h->out.data ? h->out.data : "", h->out.len);
    printf(",\"stderr\":");
    json_string(stdout, h->err.data ? h->err.data : "", h->err.len);
    printf(",\"error\":");
    json_cstr(stdout, err ? pssh_err_name(err) : NULL);
    printf(",\"error_message\":");
    json_cstr(stdout, err ? pssh_output_error_message(o) : NULL);
    printf(",\"timings_ms\":{\"connect\":%.3f,\"handshake\":%.3f,\"auth\":%.3f,\"exec\":%.3f,\"run\":%.3f}}\n",
           t.connect_ms, t.handshake_ms, t.auth_ms, t.exec_ms, t.run_ms);
    free(h->out.data);
    free(h->err.data);
    h->out = h->err = (buf){0};
}

static void show_progress(run_state *st, int force)
{
    double t = now_ms();
    if (!force && t - st->last_progress < 100)
        return;
    st->last_progress = t;
    fprintf(stderr, "\r[%zu/%zu done, %zu failed, %zu non-zero]", st->finished, st->n, st->failed, st->nonzero);
    fflush(stderr);
}

static void on_exit_cb(pssh_output *o, size_t i, void *ud)
{
    run_state *st = ud;
    host_state *h = &st->hosts[i];
    h->done = 1;
    st->finished++;
    if (pssh_output_error(o)) {
        st->failed++;
        if (st->live)
            fputs("\r\033[K", stderr);
        /* The message names the host, phase and cause already. */
        fprintf(stderr, "%s [%s]\n", pssh_output_error_message(o), pssh_err_name(pssh_output_error(o)));
    } else if (pssh_output_exit_code(o) != 0) {
        st->nonzero++;
    }
    if (h->out_file) {
        fclose(h->out_file);
        h->out_file = NULL;
    }
    if (h->err_file) {
        fclose(h->err_file);
        h->err_file = NULL;
    }
    if (st->mode == MODE_JSON && !st->quiet)
        print_json(o, i, h);
    if (st->live)
        show_progress(st, st->finished == st->n);
}

/* --group: hosts with byte-identical stdout share one block, in the order of
 * their first host. */
static void print_groups(run_state *st, pssh_output **outs)
{
    char *printed = calloc(st->n, 1);
    for (size_t i = 0; i < st->n; i++) {
        if (printed[i])
            continue;
        buf *b = &st->hosts[i].out;
        size_t count = 0;
        printf("----------------\n");
        for (size_t j = i; j < st->n; j++) {
            buf *c = &st->hosts[j].out;
            if (printed[j] || c->len != b->len || (b->len && memcmp(c->data, b->data, b->len)))
                continue;
            printed[j] = 1;
            printf("%s%s", count++ ? ", " : "", pssh_output_alias(outs[j]));
        }
        printf(" (%zu)\n----------------\n", count);
        if (b->len) {
            fwrite(b->data, 1, b->len, stdout);
            if (b->data[b->len - 1] != '\n')
                putchar('\n');
        }
    }
    free(printed);
}

static const char *slowest_phase(const pssh_timings *t, double *ms)
{
    const char *names[] = {"connect", "handshake", "auth", "exec", "run"};
    double v[] = {t->connect_ms, t->handshake_ms, t->auth_ms, t->exec_ms, t->run_ms};
    int k = 0;
    for (int j = 1; j < 5; j++)
        if (v[j] > v[k])
            k = j;
    *ms = v[k];
    return names[k];
}

static void print_summary(run_state *st, pssh_output **outs, double wall)
{
    if (st->live)
        fputs("\r\033[K", stderr);
    size_t ok = st->n - st->failed - st->nonzero;
    fprintf(stderr, "%s: %zu hosts in %.2f s: %zu ok, %zu exited non-zero, %zu failed\n", prog, st->n,
            wall / 1000, ok, st->nonzero, st->failed);
    double worst = -1;
    size_t slow = 0;
    for (size_t i = 0; i < st->n; i++) {
        pssh_output *o = outs[i];
        if (pssh_output_error(o)) {
            fprintf(stderr, "  failed   %s [%s]\n", pssh_output_error_message(o), pssh_err_name(pssh_output_error(o)));
        } else if (pssh_output_exit_code(o) != 0) {
            const char *sig = pssh_output_exit_signal(o);
            if (sig)
                fprintf(stderr, "  killed   %s: signal %s\n", pssh_output_alias(o), sig);
            else
                fprintf(stderr, "  exit %-3d %s\n", pssh_output_exit_code(o), pssh_output_alias(o));
        }
        pssh_timings t;
        pssh_output_timings(o, &t);
        double total = 0;
        double v[] = {t.connect_ms, t.handshake_ms, t.auth_ms, t.exec_ms, t.run_ms};
        for (int k = 0; k < 5; k++)
            total += v[k] > 0 ? v[k] : 0;
        if (total > worst) {
            worst = total;
            slow = i;
        }
    }
    if (worst >= 0 && st->n > 0) {
        pssh_timings t;
        pssh_output_timings(outs[slow], &t);
        double ms;
        const char *phase = slowest_phase(&t, &ms);
        fprintf(stderr, "  slowest  %s: %.0f ms, most of it in %s (%.0f ms)\n", pssh_output_alias(outs[slow]), worst,
                phase, ms);
    }
}

static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = calloc(len, 1);
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static void parse(run_state *st, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_CONN_LONGOPTS,
        {"inline", no_argument, 0, OPT_INLINE},
        {"group", no_argument, 0, OPT_GROUP},
        {"json", no_argument, 0, OPT_JSON},
        {"outdir", required_argument, 0, 'o'},
        {"errdir", required_argument, 0, 'e'},
        {"quiet", no_argument, 0, 'q'},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"no-progress", no_argument, 0, OPT_NO_PROGRESS},
        {0, 0, 0, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+" CLI_CONN_SHORTOPTS "o:e:q", longopts, NULL)) != -1) {
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
        case ':':
            cli_usage_error(prog, "option '%s' needs an argument", argv[optind - 1]);
        default:
            cli_usage_error(prog, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        cli_usage_error(prog, "no command given");
    st->command = join_args(argc - optind, argv + optind);
    cli_conn_check(&st->conn);
    for (const char *d = st->outdir; d; d = d == st->outdir ? st->errdir : NULL)
        if (mkdir(d, 0755) != 0 && errno != EEXIST)
            cli_usage_error(prog, "cannot create %s: %s", d, strerror(errno));
    if (st->progress < 0)
        st->progress = isatty(2) && !st->quiet;
    st->live = st->progress && isatty(2);
}

int main(int argc, char **argv)
{
    run_state st = {.mode = MODE_INLINE, .progress = -1};
    cli_init(&st.conn, prog);
    st.conn.ssh_config_default = 1; /* as ssh: ~/.ssh/config, /etc/ssh/ssh_config */
    parse(&st, argc, argv);
    st.n = st.conn.hosts.n;
    st.hosts = calloc(st.n, sizeof *st.hosts);
    pssh_output **outs = calloc(st.n, sizeof *outs);
    if (!st.hosts || !outs)
        return 70;
    for (size_t i = 0; i < st.n; i++) {
        if (st.outdir)
            st.hosts[i].out_file = open_host_file(st.outdir, st.conn.hosts.v[i], i, &st);
        if (st.errdir)
            st.hosts[i].err_file = open_host_file(st.errdir, st.conn.hosts.v[i], i, &st);
    }
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
    pssh_parallel_set_callbacks(p, on_line, on_exit_cb, &st);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.timeout_ms = st.conn.command_timeout_ms;
    double t0 = now_ms();
    rc = pssh_parallel_run_command(p, st.command, &opts, outs);
    /* Lines are printed as they arrive; stdout is flushed at least every
     * 100 ms so a slow host's line never waits in our buffer. */
    while (rc == PSSH_OK && (rc = pssh_parallel_join(p, 100, 0, NULL)) == PSSH_E_TIMEOUT) {
        fflush(stdout);
        rc = PSSH_OK;
    }
    if (rc != PSSH_OK)
        fprintf(stderr, "%s: %s\n", prog, pssh_strerror(rc));
    if (st.mode == MODE_GROUP && !st.quiet)
        print_groups(&st, outs);
    fflush(stdout);
    if (st.progress > 0)
        print_summary(&st, outs, now_ms() - t0);
    for (size_t i = 0; i < st.n; i++) {
        pssh_output_unref(outs[i]);
        free(st.hosts[i].out.data);
        free(st.hosts[i].err.data);
    }
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    cli_free(&st.conn);
    free(outs);
    free(st.hosts);
    free(st.command);
    if (rc != PSSH_OK || st.failed)
        return 2;
    return st.nonzero ? 1 : 0;
}
