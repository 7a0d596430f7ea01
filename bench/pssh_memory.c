/* pssh_memory: client memory libpssh holds per idle authenticated session,
 * to be set beside libssh2_memfloor (same hosts, same warm-up, same figures).
 *
 *   pssh_memory PORT USER KEY KNOWN_HOSTS|- COUNT [--pool N] [--cycle M]
 *
 * Warm-up: one parallel client over host 127.0.0.1 connects and authenticates
 * (and stays open). Then RSS (VmRSS) and malloc'd heap (mallinfo2 uordblks,
 * all arenas) are read, a parallel client over COUNT hosts connects and
 * authenticates every one of them (pssh_parallel_connect_auth, through a pool
 * of --pool at a time, default the library's 100), and the two are read
 * again while every session is held open and idle. Host k (k = 1..COUNT) is
 * 127.0.0.(k % M)+1 ... as libssh2_memfloor cycles over M = 200 hosts.
 *
 * Prints one line of key=value pairs: ok, rss_kib_per_session,
 * heap_kib_per_session, the totals, and heap_kib_after_release (heap growth
 * still held once every client is released and the loop is idle, relative to
 * the baseline: leaks or caches). fds_held = descriptors opened meanwhile (one
 * socket per session shows that the sessions really are held). Exit 0 when every session authenticated.
 */
#define _GNU_SOURCE /* clock_gettime, strdup under -std=c99 */
#include <pssh/pssh.h>
#include "procstat.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long heap_kib(void) { return (long)(mallinfo2().uordblks / 1024); }

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *addr_of(long j)
{
    char a[32];
    snprintf(a, sizeof a, "127.0.%ld.%ld", j / 254, j % 254 + 1);
    return strdup(a);
}

static void usage(void)
{
    fprintf(stderr, "usage: pssh_memory PORT USER KEY KNOWN_HOSTS|- COUNT [--pool N] [--cycle M]\n");
    exit(2);
}

static long check(pssh_parallel *p, size_t n, const char *what)
{
    long ok = 0;
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        pssh_err e = pssh_parallel_host_error(p, i);
        if (e == PSSH_OK)
            ok++;
        else if (shown++ < 10)
            fprintf(stderr, "pssh_memory: %s host %s: %s: %s\n", what, pssh_parallel_host(p, i),
                    pssh_err_name(e), pssh_parallel_host_error_message(p, i));
    }
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 6)
        usage();
    int port = atoi(argv[1]);
    const char *user = argv[2], *key = argv[3], *known = argv[4];
    long n = atol(argv[5]), pool = 0, cycle = 200;
    for (int i = 6; i < argc; i++) {
        if (!strcmp(argv[i], "--pool") && i + 1 < argc)
            pool = atol(argv[++i]);
        else if (!strcmp(argv[i], "--cycle") && i + 1 < argc)
            cycle = atol(argv[++i]);
        else
            usage();
    }
    if (port < 1 || port > 65535 || n < 1 || n > 4000 || pool < 0 || cycle < 1)
        usage();

    pssh_config *cfg = NULL;
    pssh_loop *loop = NULL;
    if (pssh_config_new(&cfg) || pssh_loop_new(&loop))
        return 1;
    pssh_config_set_user(cfg, user);
    pssh_config_set_port(cfg, port);
    pssh_config_set_pkey_file(cfg, key, NULL);
    pssh_config_set_agent(cfg, 0);
    pssh_config_set_default_identities(cfg, 0);
    pssh_config_set_retries(cfg, 0, 0);
    pssh_config_set_timeout(cfg, 60000);
    if (strcmp(known, "-")) {
        pssh_config_set_known_hosts(cfg, known);
        pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_STRICT);
    } else {
        pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    }

    /* Warm-up: one session, held open like libssh2_memfloor's first one. */
    char *warm_host = addr_of(0);
    pssh_parallel *warm = NULL;
    if (pssh_parallel_new(loop, (const char *const *)&warm_host, 1, cfg, NULL, &warm))
        return 1;
    pssh_parallel_set_stop_on_errors(warm, 0);
    pssh_parallel_connect_auth(warm);
    if (check(warm, 1, "warm-up") != 1)
        return 1;

    char **hosts = calloc((size_t)n, sizeof *hosts);
    if (!hosts)
        return 1;
    for (long k = 1; k <= n; k++)
        hosts[k - 1] = addr_of(k % cycle);

    long r0 = procstat_rss_kib(), h0 = heap_kib(), fds0 = procstat_open_fds();
    double w0 = wall_s();
    pssh_parallel *p = NULL;
    if (pssh_parallel_new(loop, (const char *const *)hosts, (size_t)n, cfg, NULL, &p))
        return 1;
    if (pool)
        pssh_parallel_set_pool_size(p, (size_t)pool);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_err e = pssh_parallel_connect_auth(p);
    double w1 = wall_s();
    pssh_loop_run_once(loop, 0);
    long r1 = procstat_rss_kib(), h1 = heap_kib(), fds = procstat_open_fds();
    long ok = check(p, (size_t)n, "session");

    /* Release everything; what the heap still holds afterwards. */
    p = pssh_parallel_unref(p);
    warm = pssh_parallel_unref(warm);
    pssh_err drain = pssh_loop_run(loop, 10000);
    long h2 = heap_kib(), r2 = procstat_rss_kib();

    printf("pssh_memory %s: %ld idle sessions, pool %ld: ok=%ld rss_kib_per_session=%.1f "
           "heap_kib_per_session=%.1f rss_kib_total=%ld heap_kib_total=%ld connect_wall_s=%.2f "
           "connect_rc=%s fds_held=%ld heap_kib_after_release=%ld rss_kib_after_release=%ld drain_rc=%s\n",
           pssh_version(), n, pool ? pool : 100, ok, (r1 - r0) / (double)n, (h1 - h0) / (double)n,
           r1 - r0, h1 - h0, w1 - w0, pssh_err_name(e), fds - fds0, h2 - h0, r2 - r0, pssh_err_name(drain));
    fflush(stdout);

    pssh_loop_unref(loop);
    pssh_config_free(cfg);
    for (long k = 0; k < n; k++)
        free(hosts[k]);
    free(hosts);
    free(warm_host);
    return ok == n ? 0 : 1;
}
