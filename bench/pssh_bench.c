/* pssh_bench: CPU and wall time of libpssh's parallel client over N hosts,
 * through the public C API only, to be set beside libssh2_mux_floor.
 *
 *   pssh_bench PORT USER KEY KNOWN_HOSTS NHOSTS CMD [--pool N] [--expect-lines L] [--proxy JUMP]
 *
 * Runs CMD on NHOSTS fleet hosts at once (host i = 127.0.(i-1)/254.(i-1)%254+1,
 * as pssh-fleet numbers them). KNOWN_HOSTS is the fleet's known_hosts, checked
 * under the strict policy; "-" turns host key checking off. The pool is NHOSTS
 * unless --pool says otherwise. Every output is read completely through the
 * streaming line callback, which counts lines and bytes (the bytes of the
 * lines as delivered, endings included) and keeps nothing.
 * With --expect-lines (or a CMD of the form "seq 1 L"), every host must have
 * delivered exactly L lines. Every host must succeed with exit code 0.
 *
 * With --proxy, every host is reached through JUMP ("[user@]host[:port][,...]",
 * pssh_config_set_proxy), and the line also gives the process's threads and
 * open descriptors before the run, after the join (every connection up) and
 * after the release: threads_before= threads_during= threads_after= fds_...=
 *
 * Timed like the floor: from before the parallel client is made to after it
 * and every output are released and the loop has nothing left to do (so
 * disconnects count). Prints one line of key=value pairs:
 *   pssh_bench ...: ok=N wall_s= cpu_s= cpu_ms_per_host= maxrss_kib=
 *   lines_per_host= bytes_per_host= ...
 * Exit 0 when every host succeeded, 1 otherwise, 2 on usage errors.
 */
#define _GNU_SOURCE /* clock_gettime, strdup under -std=c99 */
#include <pssh/pssh.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct host_stat {
    long lines;
    long long bytes;
    int exits;
    int exit_code;
    int stderr_lines;
    int partial; /* last piece seen had no line ending */
    double exit_at; /* wall_s() when the exit callback ran */
};

struct run {
    struct host_stat *h;
    size_t n;
};

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Count lines and bytes; keep nothing. A line arrives with its ending as
 * sent (pssh.h), and a line longer than the buffer limit comes in pieces of
 * which only the last has the "\n": a line is counted at its "\n", and an
 * unterminated last piece at the exit. */
static void on_line(pssh_output *o, size_t host, pssh_stream stream, const char *line, size_t len,
                    void *ud)
{
    struct run *r = ud;
    (void)o;
    if (host >= r->n)
        return;
    if (stream == PSSH_STDERR) {
        r->h[host].stderr_lines++;
        return;
    }
    int ended = len > 0 && line[len - 1] == '\n';
    r->h[host].lines += ended;
    r->h[host].partial = !ended;
    r->h[host].bytes += (long long)len;
}

static void on_exit_cb(pssh_output *o, size_t host, void *ud)
{
    struct run *r = ud;
    if (host >= r->n)
        return;
    r->h[host].exits++;
    r->h[host].exit_at = wall_s();
    r->h[host].lines += r->h[host].partial;
    r->h[host].partial = 0;
    r->h[host].exit_code = pssh_output_exit_code(o);
}

/* Entries of a /proc/self folder (threads: task, descriptors: fd). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}
static int count_fds(void) { return count_entries("/proc/self/fd") - 1; /* the DIR's own */ }
static int count_threads(void) { return count_entries("/proc/self/task"); }

static void usage(void)
{
    fprintf(stderr, "usage: pssh_bench PORT USER KEY KNOWN_HOSTS|- NHOSTS CMD [--pool N] "
                    "[--expect-lines L] [--proxy JUMP]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 7)
        usage();
    int port = atoi(argv[1]);
    const char *user = argv[2], *key = argv[3], *known = argv[4], *cmd = argv[6];
    long n = atol(argv[5]);
    long pool = 0, expect = -1;
    const char *jump = NULL;
    for (int i = 7; i < argc; i++) {
        if (!strcmp(argv[i], "--pool") && i + 1 < argc)
            pool = atol(argv[++i]);
        else if (!strcmp(argv[i], "--proxy") && i + 1 < argc)
            jump = argv[++i];
        else if (!strcmp(argv[i], "--expect-lines") && i + 1 < argc)
            expect = atol(argv[++i]);
        else
            usage();
    }
    if (port < 1 || port > 65535 || n < 1 || n > 4000 || pool < 0)
        usage();
    if (pool == 0)
        pool = n;
    if (expect < 0) {
        long a, b;
        int end = 0;
        if (sscanf(cmd, "seq %ld %ld%n", &a, &b, &end) == 2 && cmd[end] == '\0' && a == 1)
            expect = b;
    }

    char **hosts = calloc((size_t)n, sizeof *hosts);
    struct run r = {calloc((size_t)n, sizeof *r.h), (size_t)n};
    pssh_output **outs = calloc((size_t)n, sizeof *outs);
    if (!hosts || !r.h || !outs)
        return 1;
    for (long i = 0; i < n; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.%ld.%ld", i / 254, i % 254 + 1);
        hosts[i] = strdup(addr);
        r.h[i].exit_code = -1;
    }

    pssh_config *cfg = NULL;
    pssh_loop *loop = NULL;
    if (pssh_config_new(&cfg) || pssh_loop_new(&loop))
        return 1;
    pssh_config_set_user(cfg, user);
    pssh_config_set_port(cfg, port);
    pssh_config_set_pkey_file(cfg, key, NULL);
    pssh_config_set_agent(cfg, 0);
    pssh_config_set_default_identities(cfg, 0);
    pssh_config_set_retries(cfg, 0, 0); /* the floor has none; a failure is a failure */
    pssh_config_set_timeout(cfg, 60000);
    if (strcmp(known, "-")) {
        pssh_config_set_known_hosts(cfg, known);
        pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_STRICT);
    } else {
        pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    }

    if (jump && pssh_config_set_proxy(cfg, jump) != PSSH_OK) {
        fprintf(stderr, "pssh_bench: bad --proxy %s\n", jump);
        return 2;
    }
    int threads0 = count_threads(), fds0 = count_fds();

    double c0 = cpu_s(), w0 = wall_s();
    pssh_parallel *p = NULL;
    pssh_err e = pssh_parallel_new(loop, (const char *const *)hosts, (size_t)n, cfg, NULL, &p);
    if (e) {
        fprintf(stderr, "pssh_bench: pssh_parallel_new: %s\n", pssh_strerror(e));
        return 1;
    }
    pssh_parallel_set_pool_size(p, (size_t)pool);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_parallel_set_callbacks(p, on_line, on_exit_cb, &r);
    pssh_err run_e = pssh_parallel_run_command(p, cmd, NULL, outs);
    size_t unfinished = 0;
    pssh_err join_e = pssh_parallel_join(p, 600000, 0, &unfinished);
    double w_join = wall_s();
    int threads1 = count_threads(), fds1 = count_fds();

    /* Per-host verdicts, before anything is released. */
    long ok = 0, bad_lines = 0;
    int shown = 0;
    for (long i = 0; i < n; i++) {
        pssh_err he = outs[i] ? pssh_output_error(outs[i]) : pssh_parallel_host_error(p, (size_t)i);
        int code = outs[i] ? pssh_output_exit_code(outs[i]) : -1;
        int good = he == PSSH_OK && code == 0 && r.h[i].exits == 1;
        if (good && expect >= 0 && r.h[i].lines != expect) {
            good = 0;
            bad_lines++;
        }
        ok += good;
        if (!good && shown++ < 10) {
            pssh_timings t = {-1, -1, -1, -1, -1};
            if (outs[i])
                pssh_output_timings(outs[i], &t);
            fprintf(stderr,
                    "pssh_bench: host %s: error %s (%s) exit=%d exits=%d lines=%ld%s; ms: connect %.0f "
                    "handshake %.0f auth %.0f exec %.0f run %.0f; at %.1f s into the run\n",
                    hosts[i], pssh_err_name(he),
                    outs[i] ? pssh_output_error_message(outs[i])
                            : pssh_parallel_host_error_message(p, (size_t)i),
                    code, r.h[i].exits, r.h[i].lines, expect >= 0 ? "" : " (not checked)",
                    t.connect_ms, t.handshake_ms, t.auth_ms, t.exec_ms, t.run_ms,
                    r.h[i].exit_at - w0);
        }
    }

    for (long i = 0; i < n; i++)
        outs[i] = pssh_output_unref(outs[i]);
    p = pssh_parallel_unref(p);
    pssh_err drain_e = pssh_loop_run(loop, 10000); /* closing connections */
    double c1 = cpu_s(), w1 = wall_s();
    int threads2 = count_threads(), fds2 = count_fds();

    long long lines = 0, bytes = 0;
    long stderr_lines = 0;
    for (long i = 0; i < n; i++) {
        lines += r.h[i].lines;
        bytes += r.h[i].bytes;
        stderr_lines += r.h[i].stderr_lines;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("pssh_bench %s: %ld hosts, pool %ld, cmd '%s': ok=%ld wall_s=%.3f cpu_s=%.3f "
           "cpu_ms_per_host=%.2f maxrss_kib=%ld lines_per_host=%lld bytes_per_host=%lld "
           "stderr_lines=%ld join_wall_s=%.3f run_rc=%s join_rc=%s unfinished=%zu drain_rc=%s "
           "bad_line_counts=%ld\n",
           pssh_version(), n, pool, cmd, ok, w1 - w0, c1 - c0, (c1 - c0) * 1000 / n, ru.ru_maxrss,
           lines / n, bytes / n, stderr_lines, w_join - w0, pssh_err_name(run_e),
           pssh_err_name(join_e), unfinished, pssh_err_name(drain_e), bad_lines);
    if (jump)
        printf("pssh_bench proxy %s: threads_before=%d threads_during=%d threads_after=%d fds_before=%d "
               "fds_during=%d fds_after=%d\n",
               jump, threads0, threads1, threads2, fds0, fds1, fds2);
    fflush(stdout);

    pssh_loop_unref(loop);
    pssh_config_free(cfg);
    for (long i = 0; i < n; i++)
        free(hosts[i]);
    free(hosts);
    free(outs);
    free(r.h);
    return ok == n ? 0 : 1;
}
