/* pssh-stress: the fd-reuse stress rig. C cycles of connect, run a command
 * that echoes a unique token, check the token, release; K cycles in flight
 * at once (in waves of K over the hosts, each wave released while the next
 * runs, so descriptor numbers are reused as fast as the kernel hands them
 * back). Any output that reaches the wrong cycle is a mismatch. */
#include "cli.h"
#include "procstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OPT_CYCLES = CLI_OPT_TOOL_BASE, OPT_CONCURRENCY };

static const char *prog = "pssh-stress";

static void usage(void)
{
    printf("Usage: %s [options] --cycles C --concurrency K\n"
           "Open, use and release C connections, K at a time, over the given hosts;\n"
           "check that every output reaches its own cycle and no descriptor is left.\n\n%s"
           "Stress:\n"
           "      --cycles C                 connections to make in all (default 1000)\n"
           "      --concurrency K            connections in flight at once (default 20)\n"
           "  -q, --quiet                    no line per failed cycle (mismatches are always shown)\n"
           "      --version, --help\n\n"
           "Exit status: 0 all good; 1 a mismatch or descriptor growth; 2 a cycle failed\n"
           "(connect, auth, timeout...); 64 usage error.\n",
           prog, cli_conn_help(0));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
    long ok, failed, mismatched;
    int quiet;
} tally;

/* One wave: k cycles starting at cycle number `first`. Returns the wave's
 * client and outputs so the caller can release them during the next wave. */
static pssh_parallel *wave(pssh_loop *loop, const cli_conn *c, pssh_config *cfg, long first, size_t k,
                           pssh_output **outs, char **cmds, char **hosts)
{
    for (size_t i = 0; i < k; i++) {
        hosts[i] = c->hosts.v[(size_t)(first + (long)i) % c->hosts.n];
        snprintf(cmds[i], 64, "echo pssh-stress-%d-%ld", (int)getpid(), first + (long)i);
    }
    pssh_parallel *p = NULL;
    if (pssh_parallel_new(loop, (const char *const *)hosts, k, cfg, NULL, &p) != PSSH_OK) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(70);
    }
    pssh_parallel_set_stop_on_errors(p, 0);
    if (c->fanout)
        pssh_parallel_set_pool_size(p, c->fanout);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.timeout_ms = c->command_timeout_ms;
    pssh_parallel_run_commands(p, (const char *const *)cmds, k, &opts, outs);
    return p;
}

static void check_wave(pssh_parallel *p, long first, size_t k, pssh_output **outs, tally *t)
{
    pssh_parallel_join(p, -1, 0, NULL);
    for (size_t i = 0; i < k; i++) {
        pssh_output *o = outs[i];
        if (pssh_output_error(o)) {
            t->failed++;
            if (!t->quiet)
                fprintf(stderr, "%s: cycle %ld: %s [%s]\n", prog, first + (long)i, pssh_output_error_message(o),
                        pssh_err_name(pssh_output_error(o)));
            continue;
        }
        char want[64], got[64];
        int wl = snprintf(want, sizeof want, "pssh-stress-%d-%ld", (int)getpid(), first + (long)i);
        const char *line;
        size_t len;
        pssh_err rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000);
        int same = rc == PSSH_OK && len == (size_t)wl && !memcmp(line, want, len);
        size_t n = 0;
        char extra;
        /* Nothing else may follow the token. */
        if (same && pssh_output_read(o, PSSH_STDOUT, &extra, 1, &n, 10000) != PSSH_EOF)
            same = 0;
        if (same && pssh_output_exit_code(o) == 0) {
            t->ok++;
        } else {
            t->mismatched++;
            snprintf(got, sizeof got, "%.*s", rc == PSSH_OK ? (int)(len < 60 ? len : 60) : 0, rc == PSSH_OK ? line : "");
            fprintf(stderr, "%s: cycle %ld: MISMATCH: expected '%s', got '%s' (%s)\n", prog, first + (long)i,
                    want, got, pssh_err_name(rc));
        }
    }
}

static void release(pssh_parallel *p, pssh_output **outs, size_t k)
{
    for (size_t i = 0; i < k; i++)
        outs[i] = pssh_output_unref(outs[i]);
    pssh_parallel_unref(p);
}

int main(int argc, char **argv)
{
    cli_conn c;
    cli_init(&c, prog);
    long cycles = 1000;
    long k = 20;
    tally t = {0, 0, 0, 0};
    static const struct option longopts[] = {
        CLI_CONN_LONGOPTS,
        {"cycles", required_argument, 0, OPT_CYCLES},
        {"concurrency", required_argument, 0, OPT_CONCURRENCY},
        {"quiet", no_argument, 0, 'q'},
        {0, 0, 0, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CLI_CONN_SHORTOPTS "q", longopts, NULL)) != -1) {
        if (cli_conn_option(&c, opt, optarg))
            continue;
        char *end;
        switch (opt) {
        case OPT_CYCLES:
        case OPT_CONCURRENCY: {
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 1 || v > 100000000)
                cli_usage_error(prog, "bad number '%s'", optarg);
            *(opt == OPT_CYCLES ? &cycles : &k) = v;
            break;
        }
        case 'q':
            t.quiet = 1;
            break;
        case CLI_OPT_VERSION:
            printf("pssh-stress (libpssh %s)\n", pssh_version());
            return 0;
        case CLI_OPT_HELP:
            usage();
            return 0;
        default:
            cli_option_error(prog, opt, argv);
        }
    }
    if (optind < argc)
        cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
    cli_conn_check(&c);
    if (k > cycles)
        k = cycles;
    pssh_config *cfg = cli_make_config(&c);
    pssh_loop *loop = NULL;
    if (pssh_loop_new(&loop) != PSSH_OK)
        return 70;
    size_t kk = (size_t)k;
    pssh_output **outs[2] = {calloc(kk, sizeof(pssh_output *)), calloc(kk, sizeof(pssh_output *))};
    char **cmds = calloc(kk, sizeof *cmds), **hosts = calloc(kk, sizeof *hosts);
    for (size_t i = 0; i < kk; i++)
        cmds[i] = malloc(64);
    /* Warm-up wave: libraries and the loop settle before the counts start. */
    pssh_parallel *p = wave(loop, &c, cfg, -1 - (long)kk, kk, outs[0], cmds, hosts);
    tally warm = {0, 0, 0, 1};
    check_wave(p, -1 - (long)kk, kk, outs[0], &warm);
    release(p, outs[0], kk);
    int fd0 = (int)procstat_open_fds();
    long rss0 = procstat_rss_kib();
    double t0 = now_s();
    pssh_parallel *prev = NULL;
    size_t prev_k = 0;
    int cur = 0;
    for (long first = 0; first < cycles; first += k) {
        size_t n = (size_t)(cycles - first < k ? cycles - first : k);
        p = wave(loop, &c, cfg, first, n, outs[cur], cmds, hosts);
        if (prev) /* released while this wave runs: its numbers get reused */
            release(prev, outs[1 - cur], prev_k);
        check_wave(p, first, n, outs[cur], &t);
        prev = p;
        prev_k = n;
        cur = 1 - cur;
    }
    if (prev)
        release(prev, outs[1 - cur], prev_k);
    double wall = now_s() - t0;
    int fd1 = (int)procstat_open_fds();
    long rss1 = procstat_rss_kib();
    printf("%s: %ld cycles, %ld at once, %zu host(s): %ld ok, %ld failed, %ld mismatched\n", prog, cycles, k,
           c.hosts.n, t.ok, t.failed, t.mismatched);
    printf("  %.1f cycles/s (%.2f s)\n", (double)cycles / wall, wall);
    printf("  open fds: %d at start, %d at end\n", fd0, fd1);
    printf("  RSS: %.1f MiB at start, %.1f MiB at end\n", rss0 / 1024.0, rss1 / 1024.0);
    for (size_t i = 0; i < kk; i++)
        free(cmds[i]);
    free(cmds);
    free(hosts);
    free(outs[0]);
    free(outs[1]);
    pssh_config_free(cfg);
    pssh_loop_unref(loop);
    cli_free(&c);
    if (t.mismatched || fd1 != fd0) {
        if (fd1 != fd0)
            printf("  FAIL: descriptors grew by %d\n", fd1 - fd0);
        return 1;
    }
    return t.failed ? 2 : 0;
}
