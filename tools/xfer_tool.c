#include "xfer_tool.h"

#include "json.h"
#include "outbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_SCP = CLI_OPT_TOOL_BASE,
    OPT_COPY_LINKS,
    OPT_JSON,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_RECURSIVE,
    OPT_PRESERVE,
};

const char xfer_help[] =
    "Transfer:\n"
    "  -r, --recursive                copy directory trees\n"
    "  -p, --preserve                 keep modes and modification times (default: files 0644,\n"
    "                                 directories 0755); as in scp, the port is -P\n"
    "      --copy-links               copy symbolic links as links (default: follow them)\n"
    "      --scp                      carry the data over SCP instead of SFTP\n"
    "  -T, --command-timeout SEC      bounds each host's transfer (default: none)\n"
    "Output:\n"
    "      --json                     one JSON object per host per transfer, on stdout\n"
    "  -q, --quiet                    no output but errors\n"
    "      --progress / --no-progress progress line (bytes and rate) and summary on stderr\n"
    "                                 (default: on a tty)\n"
    "      --version, --help\n\n"
    "Exit status: 0 every host's transfer completed; 2 some host failed; 64 usage error.\n";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int xfer_parse(xfer_tool *x, int argc, char **argv, void (*usage)(void))
{
    static const struct option longopts[] = {
        CLI_CONN_LONGOPTS,
        {"recursive", no_argument, 0, OPT_RECURSIVE},
        {"preserve", no_argument, 0, OPT_PRESERVE},
        {"copy-links", no_argument, 0, OPT_COPY_LINKS},
        {"scp", no_argument, 0, OPT_SCP},
        {"json", no_argument, 0, OPT_JSON},
        {"quiet", no_argument, 0, 'q'},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"no-progress", no_argument, 0, OPT_NO_PROGRESS},
        {0, 0, 0, 0},
    };
    cli_init(&x->conn, x->prog);
    x->conn.ssh_config_default = 1; /* as ssh: ~/.ssh/config, /etc/ssh/ssh_config */
    x->progress = -1;
    opterr = 0;
    int opt, li;
    /* The connection options without -p and -r (taken here for preserve
     * and recurse): their long forms still reach cli_conn_option. */
    while ((li = -1, opt = getopt_long(argc, argv, "+H:h:l:i:Af:t:T:rpP:q", longopts, &li)) != -1) {
        if (li < 0 && opt == 'r')
            opt = OPT_RECURSIVE;
        else if (li < 0 && opt == 'p')
            opt = OPT_PRESERVE;
        else if (opt == 'P')
            opt = 'p';
        if (cli_conn_option(&x->conn, opt, optarg))
            continue;
        switch (opt) {
        case OPT_RECURSIVE:
            x->recurse = 1;
            break;
        case OPT_PRESERVE:
            x->preserve = 1;
            break;
        case OPT_COPY_LINKS:
            x->copy_links = 1;
            break;
        case OPT_SCP:
            x->scp = 1;
            break;
        case OPT_JSON:
            x->json = 1;
            break;
        case 'q':
            x->quiet = 1;
            break;
        case OPT_PROGRESS:
            x->progress = 1;
            break;
        case OPT_NO_PROGRESS:
            x->progress = 0;
            break;
        case CLI_OPT_VERSION:
            printf("%s (libpssh %s)\n", x->prog, pssh_version());
            exit(0);
        case CLI_OPT_HELP:
            usage();
            exit(0);
        case ':':
            cli_usage_error(x->prog, "option '%s' needs an argument", argv[optind - 1]);
        default:
            cli_usage_error(x->prog, "unknown option '%s'", argv[optind - 1]);
        }
    }
    cli_conn_check(&x->conn);
    if (x->progress < 0)
        x->progress = isatty(2) && !x->quiet;
    x->live = x->progress && isatty(2);
    return optind;
}

void xfer_start(xfer_tool *x)
{
    x->cfg = cli_make_config(&x->conn);
    pssh_err rc = pssh_parallel_new(NULL, (const char *const *)x->conn.hosts.v, x->conn.hosts.n, x->cfg, NULL, &x->p);
    if (rc != PSSH_OK) {
        fprintf(stderr, "%s: %s\n", x->prog, pssh_strerror(rc));
        exit(70);
    }
    if (x->conn.fanout)
        pssh_parallel_set_pool_size(x->p, x->conn.fanout);
    pssh_parallel_set_stop_on_errors(x->p, 0);
    x->t0 = now_ms();
}

/* The state of one run, for the callbacks. */
typedef struct {
    xfer_tool *x;
    size_t n, finished, failed;
    unsigned long long *done, sum;
    double start, last;
} run_state;

static void show_live(run_state *r, int force)
{
    double t = now_ms();
    if (!force && t - r->last < 100)
        return;
    r->last = t;
    double secs = (t - r->start) / 1000;
    fprintf(stderr, "\r\033[K[%zu/%zu done, %zu failed] %.1f MiB, %.1f MiB/s", r->finished, r->n, r->failed,
            r->sum / 1048576.0, secs > 0 ? r->sum / 1048576.0 / secs : 0.0);
    fflush(stderr);
}

static void on_progress(pssh_output *o, size_t i, unsigned long long done, unsigned long long total, void *ud)
{
    (void)o, (void)total;
    run_state *r = ud;
    r->sum += done - r->done[i];
    r->done[i] = done;
    if (r->x->live)
        show_live(r, 0);
}

static void print_json(const char *local, const char *remote, pssh_output *o, size_t i)
{
    pssh_timings t;
    pssh_output_timings(o, &t);
    pssh_transfer_stats st = {PSSH_TRANSFER_STATS_VERSION, 0, 0, 0};
    pssh_output_transfer_stats(o, &st);
    pssh_err err = pssh_output_error(o);
    outbuf b; /* one line written whole, after what stdout holds */
    fflush(stdout);
    ob_init(&b, 1, 4096);
    ob_printf(&b, "{\"index\":%zu,\"host\":", i);
    json_cstr(&b, pssh_output_host(o));
    ob_printf(&b, ",\"alias\":");
    json_cstr(&b, pssh_output_alias(o));
    ob_printf(&b, ",\"local\":");
    json_cstr(&b, local);
    ob_printf(&b, ",\"remote\":");
    json_cstr(&b, remote);
    ob_printf(&b, ",\"bytes\":%llu,\"total\":%llu,\"error\":", st.bytes, st.total);
    json_cstr(&b, err ? pssh_err_name(err) : NULL);
    ob_printf(&b, ",\"error_message\":");
    json_cstr(&b, err ? pssh_output_error_message(o) : NULL);
    ob_printf(&b, ",\"timings_ms\":{\"connect\":%.3f,\"handshake\":%.3f,\"auth\":%.3f,\"open\":%.3f,\"transfer\":%.3f}}\n",
           t.connect_ms, t.handshake_ms, t.auth_ms, t.exec_ms, st.transfer_ms);
    ob_flush(&b);
    ob_free(&b);
}

typedef struct {
    run_state *r;
    const char *local, *remote;
    const pssh_copy_arg *args;
} exit_ctx;

static void on_exit_cb(pssh_output *o, size_t i, void *ud)
{
    exit_ctx *c = ud;
    run_state *r = c->r;
    r->finished++;
    if (pssh_output_error(o)) {
        r->failed++;
        if (r->x->live)
            fputs("\r\033[K", stderr);
        fprintf(stderr, "%s [%s]\n", pssh_output_error_message(o), pssh_err_name(pssh_output_error(o)));
    }
    if (r->x->json && !r->x->quiet)
        print_json(c->args ? c->args[i].local : c->local, c->args ? c->args[i].remote : c->remote, o, i);
    if (r->x->live)
        show_live(r, r->finished == r->n);
}

size_t xfer_run(xfer_tool *x, int put, const char *local, const char *remote, const char *sep,
                const pssh_copy_arg *args)
{
    size_t n = pssh_parallel_size(x->p);
    run_state r = {.x = x, .n = n, .start = now_ms()};
    r.done = calloc(n ? n : 1, sizeof *r.done);
    pssh_output **outs = calloc(n ? n : 1, sizeof *outs);
    if (!r.done || !outs)
        exit(70);
    exit_ctx ctx = {&r, local, remote, args};
    pssh_parallel_set_callbacks(x->p, NULL, on_exit_cb, &ctx);
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.recurse = x->recurse;
    o.preserve = x->preserve;
    o.copy_links = x->copy_links;
    o.timeout_ms = x->conn.command_timeout_ms;
    o.progress = on_progress;
    o.userdata = &r;
    size_t nargs = args ? n : 0;
    pssh_err rc;
    if (put)
        rc = x->scp ? pssh_parallel_scp_send(x->p, local, remote, args, nargs, &o, outs)
                    : pssh_parallel_copy_file(x->p, local, remote, args, nargs, &o, outs);
    else
        rc = x->scp ? pssh_parallel_scp_recv(x->p, remote, local, sep, args, nargs, &o, outs)
                    : pssh_parallel_copy_remote_file(x->p, remote, local, sep, args, nargs, &o, outs);
    while (rc == PSSH_OK && (rc = pssh_parallel_join(x->p, 100, 0, NULL)) == PSSH_E_TIMEOUT) {
        fflush(stdout);
        rc = PSSH_OK;
    }
    fflush(stdout);
    if (rc != PSSH_OK)
        fprintf(stderr, "%s: %s: %s\n", x->prog, pssh_strerror(rc), pssh_parallel_error_message(x->p));
    for (size_t i = 0; i < n; i++) {
        pssh_transfer_stats st = {PSSH_TRANSFER_STATS_VERSION, 0, 0, 0};
        if (outs[i] && pssh_output_transfer_stats(outs[i], &st) == PSSH_OK)
            x->bytes += st.bytes;
        pssh_output_unref(outs[i]);
    }
    pssh_parallel_set_callbacks(x->p, NULL, NULL, NULL);
    x->runs++;
    x->host_results += n;
    size_t failed = rc != PSSH_OK && r.failed == 0 ? n : r.failed;
    x->failed += failed;
    free(r.done);
    free(outs);
    return failed;
}

int xfer_finish(xfer_tool *x)
{
    if (x->live)
        fputs("\r\033[K", stderr);
    if (x->progress) {
        double secs = (now_ms() - x->t0) / 1000;
        fprintf(stderr, "%s: %zu hosts, %zu transfer%s in %.2f s: %zu ok, %zu failed; %.1f MiB moved (%.1f MiB/s)\n",
                x->prog, pssh_parallel_size(x->p), x->runs, x->runs == 1 ? "" : "s", secs,
                x->host_results - x->failed, x->failed, x->bytes / 1048576.0,
                secs > 0 ? x->bytes / 1048576.0 / secs : 0.0);
    }
    /* Temporaries of failed transfers are removed in the background: give
     * that a moment before leaving. */
    pssh_loop_run(pssh_parallel_loop(x->p), 5000);
    pssh_parallel_unref(x->p);
    pssh_config_free(x->cfg);
    cli_free(&x->conn);
    return x->failed ? 2 : 0;
}
