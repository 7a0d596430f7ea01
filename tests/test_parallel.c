/* The parallel client against a fleet of 120 real sshd hosts: attribution,
 * pool sizes, faulty hosts mixed with healthy ones, join, streaming,
 * reuse, lifetimes and descriptor hygiene. */
#include "fixtures/badserver.h"
#include "fixtures/dns.h"
#include "fixtures/fleet.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

TestSuite(parallel, .timeout = 120);

#define N FLEET_SIZE

static const char **fleet_hosts(size_t n)
{
    const char **h = calloc(n, sizeof *h);
    cr_assert_not_null(h);
    for (size_t i = 0; i < n; i++)
        h[i] = strdup(fleet_host((int)(i % N) + 1));
    return h;
}

static void free_hosts(const char **h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)h[i]);
    free(h);
}

static pssh_parallel *make_parallel(const char **hosts, size_t n, const pssh_config *const *per)
{
    pssh_config *cfg = fleet_config();
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, n, cfg, per, &p), PSSH_OK);
    pssh_config_free(cfg);
    return p;
}

/* Reads stdout raw until the end or the host's error. */
static char *read_all_until_error(pssh_output *o, size_t *len)
{
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (n < cap && pssh_output_read(o, PSSH_STDOUT, buf + n, cap - n, &got, 10000) == PSSH_OK)
        n += got;
    *len = n;
    return buf;
}

static void unref_all(pssh_output **outs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pssh_output_unref(outs[i]);
}

/* Host i's server address as the remote side sees it. */
static const char *addr_of(int i)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "127.0.%d.%d", (i - 1) / 254, (i - 1) % 254 + 1);
    return buf;
}

/* Every host answers with its own server address: each output must carry
 * exactly its host's answer, whatever the pool size. */
static void run_attributed(size_t pool)
{
    const char **hosts = fleet_hosts(N);
    pssh_parallel *p = make_parallel(hosts, N, NULL);
    cr_assert_eq(pssh_parallel_set_pool_size(p, pool), PSSH_OK);
    pssh_output *outs[N];
    cr_assert_eq(pssh_parallel_run_command(p, "set -- $SSH_CONNECTION; echo \"<$3>\"", NULL, outs),
                 PSSH_OK, "%s", pssh_parallel_error_message(p));
    size_t unfinished = 99;
    cr_assert_eq(pssh_parallel_join(p, 60000, 0, &unfinished), PSSH_OK);
    cr_assert_eq(unfinished, 0);
    cr_assert(pssh_parallel_finished(p));
    for (int i = 0; i < N; i++) {
        size_t n;
        char *out = read_all(outs[i], PSSH_STDOUT, &n);
        char want[64];
        snprintf(want, sizeof want, "<%s>\n", addr_of(i + 1));
        cr_assert_str_eq(out, want, "host %d got '%s'", i + 1, out);
        cr_assert_str_eq(pssh_output_host(outs[i]), hosts[i]);
        cr_assert_eq(pssh_output_exit_code(outs[i]), 0);
        free(out);
    }
    unref_all(outs, N);
    pssh_parallel_unref(p);
    free_hosts(hosts, N);
}

Test(parallel, every_host_answers_for_itself_pool_smaller) { run_attributed(7); }
Test(parallel, every_host_answers_for_itself_pool_larger) { run_attributed(500); }

/* host_args: one command per host; a count that does not match fails. */
Test(parallel, one_command_per_host)
{
    const size_t n = 30;
    const char **hosts = fleet_hosts(n);
    pssh_parallel *p = make_parallel(hosts, n, NULL);
    char *cmds[31]; /* one more, to pass a count that is too large */
    for (size_t i = 0; i <= n; i++) {
        cmds[i] = malloc(64);
        snprintf(cmds[i], 64, "echo token-%zu-$((%zu * 7))", i, i);
    }
    /* Argument errors leave outs untouched. */
    pssh_output *outs[30];
    pssh_output *const untouched = (pssh_output *)&outs;
    for (size_t i = 0; i < n; i++)
        outs[i] = untouched;
    cr_assert_eq(pssh_parallel_run_commands(p, (const char *const *)cmds, n - 1, NULL, outs), PSSH_E_HOST_ARG);
    cr_assert_eq(pssh_parallel_run_commands(p, (const char *const *)cmds, n + 1, NULL, outs), PSSH_E_HOST_ARG);
    cr_assert_eq(pssh_parallel_run_commands(p, NULL, n, NULL, outs), PSSH_E_INVAL);
    cr_assert_eq(pssh_parallel_run_command(p, NULL, NULL, outs), PSSH_E_INVAL);
    pssh_cmd_opts bad = PSSH_CMD_OPTS_INIT;
    bad.version = 99;
    cr_assert_eq(pssh_parallel_run_command(p, "true", &bad, outs), PSSH_E_INVAL);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(outs[i], untouched, "outs[%zu] was written on an argument error", i);
    cr_assert_eq(pssh_parallel_run_commands(p, (const char *const *)cmds, n, NULL, outs), PSSH_OK);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *out = read_all(outs[i], PSSH_STDOUT, &len);
        char want[64];
        snprintf(want, sizeof want, "token-%zu-%zu\n", i, i * 7);
        cr_assert_str_eq(out, want);
        free(out);
        free(cmds[i]);
    }
    free(cmds[n]);
    unref_all(outs, n);
    pssh_parallel_unref(p);
    free_hosts(hosts, n);
}

/* Duplicate entries are distinct connections. */
Test(parallel, duplicate_hosts_stay_distinct)
{
    const char *hosts[3] = {fleet_host(1), fleet_host(1), fleet_host(1)};
    char h0[64], h1[64], h2[64];
    strcpy(h0, hosts[0]);
    strcpy(h1, hosts[1]);
    strcpy(h2, hosts[2]);
    const char *hh[3] = {h0, h1, h2};
    pssh_parallel *p = make_parallel(hh, 3, NULL);
    pssh_output *outs[3];
    cr_assert_eq(pssh_parallel_run_command(p, "echo ${SSH_CONNECTION#* }", NULL, outs), PSSH_OK);
    char *port[3];
    for (int i = 0; i < 3; i++) {
        size_t n;
        port[i] = read_all(outs[i], PSSH_STDOUT, &n); /* "CLIENTPORT SERVER SERVERPORT" */
    }
    cr_assert_str_neq(port[0], port[1]);
    cr_assert_str_neq(port[1], port[2]);
    cr_assert_str_neq(port[0], port[2]);
    for (int i = 0; i < 3; i++)
        free(port[i]);
    unref_all(outs, 3);
    pssh_parallel_unref(p);
}

/* The second run uses the same connections (same client port). */
Test(parallel, second_run_reuses_connections)
{
    const size_t n = 10;
    const char **hosts = fleet_hosts(n);
    pssh_parallel *p = make_parallel(hosts, n, NULL);
    cr_assert_eq(pssh_parallel_connect_auth(p), PSSH_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(pssh_parallel_host_error(p, i), PSSH_OK);
    pssh_output *a[10], *b[10];
    cr_assert_eq(pssh_parallel_run_command(p, "echo ${SSH_CONNECTION#* }", NULL, a), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 30000, 0, NULL), PSSH_OK);
    cr_assert_eq(pssh_parallel_run_command(p, "echo ${SSH_CONNECTION#* }", NULL, b), PSSH_OK);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *x = read_all(a[i], PSSH_STDOUT, &len), *y = read_all(b[i], PSSH_STDOUT, &len);
        cr_assert_str_eq(x, y, "host %zu reconnected", i);
        free(x);
        free(y);
        pssh_timings t;
        pssh_output_timings(b[i], &t);
        cr_assert(t.exec_ms >= 0 && t.run_ms >= 0 && t.auth_ms > 0);
    }
    unref_all(a, n);
    unref_all(b, n);
    pssh_parallel_unref(p);
    free_hosts(hosts, n);
}

/* Each faulty host reports its own class within its timeout; the healthy
 * hosts' outputs are complete; nothing hangs. (An unresolvable name, which
 * needs the stand-in resolver, is in per_host_zero_wins_over_defaults.) */
Test(parallel, mixed_fleet_each_fault_its_own_class)
{
    bad_server silent = bad_server_start(BAD_SILENT);
    char silent_host[64];
    snprintf(silent_host, sizeof silent_host, "%s", bad_server_host(&silent));
    enum { HEALTHY = 12, FAULTY = 5 };
    const char *hosts[HEALTHY + FAULTY];
    char *owned[HEALTHY];
    for (int i = 0; i < HEALTHY; i++)
        hosts[i] = owned[i] = strdup(fleet_host(i + 1));
    hosts[HEALTHY + 0] = "127.0.0.1:1"; /* refused */
    hosts[HEALTHY + 1] = silent_host;   /* never speaks: its own 1 s timeout */
    hosts[HEALTHY + 2] = "bad host:22"; /* malformed */
    char wrong[64], dies[64];
    snprintf(wrong, sizeof wrong, "%s", fleet_host(HEALTHY + 1));
    snprintf(dies, sizeof dies, "%s", fleet_host(HEALTHY + 2));
    hosts[HEALTHY + 3] = wrong; /* wrong key, by per-host config */
    hosts[HEALTHY + 4] = dies;  /* killed mid-output, by per-host command */
    const size_t n = HEALTHY + FAULTY;
    const pssh_config *per[HEALTHY + FAULTY] = {0};
    pssh_config *wrong_cfg = NULL, *silent_cfg = NULL;
    cr_assert_eq(pssh_config_new(&wrong_cfg), PSSH_OK);
    pssh_config_set_pkey_file(wrong_cfg, fleet_path("id_wrong"), NULL);
    per[HEALTHY + 3] = wrong_cfg;
    cr_assert_eq(pssh_config_new(&silent_cfg), PSSH_OK);
    pssh_config_set_timeout(silent_cfg, 1000);
    per[HEALTHY + 1] = silent_cfg;
    pssh_config *cfg = fleet_config(); /* healthy hosts: a bound, not a test */
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, n, cfg, per, &p), PSSH_OK);
    cr_assert_eq(pssh_parallel_set_stop_on_errors(p, 0), PSSH_OK);
    const char *cmds[HEALTHY + FAULTY];
    for (size_t i = 0; i < n; i++)
        cmds[i] = "seq 1 50000";
    cmds[HEALTHY + 4] = "seq 1 1000; sleep 0.3; kill -9 $PPID; sleep 10";
    cmds[HEALTHY - 1] = "echo start; exec cat"; /* never ends: command timeout */
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    const int command_timeout = (int)within(3000);
    opts.timeout_ms = command_timeout;
    pssh_output *outs[HEALTHY + FAULTY];
    double t0 = now_ms();
    cr_assert_eq(pssh_parallel_run_commands(p, cmds, n, &opts, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 60000, 0, NULL), PSSH_OK);
    double dt = now_ms() - t0;
    cr_assert(dt < command_timeout + within(5000), "the run took %.0f ms", dt);
    const pssh_err want[FAULTY] = {PSSH_E_REFUSED, PSSH_E_TIMEOUT, PSSH_E_HOST_ARG, PSSH_E_AUTH, PSSH_E_LOST};
    for (int k = 0; k < FAULTY; k++) {
        pssh_output *o = outs[HEALTHY + k];
        cr_assert_eq(pssh_output_error(o), want[k], "host %s: %s (%s)", hosts[HEALTHY + k],
                     pssh_err_name(pssh_output_error(o)), pssh_output_error_message(o));
        cr_assert(strlen(pssh_output_error_message(o)) > 0);
        cr_assert_eq(pssh_output_exit_code(o), -1);
    }
    /* The killed host's output up to the cut is all there. */
    size_t len;
    char *got = read_all_until_error(outs[HEALTHY + 4], &len);
    cr_assert_eq(len, 3893, "killed host delivered %zu bytes", len); /* seq 1 1000 */
    free(got);
    cr_assert_eq(pssh_output_error(outs[HEALTHY - 1]), PSSH_E_TIMEOUT);
    for (int i = 0; i < HEALTHY - 1; i++) {
        char *out = read_all(outs[i], PSSH_STDOUT, &len);
        cr_assert_eq(len, 288894, "host %d: %zu bytes", i + 1, len); /* seq 1 50000 */
        cr_assert_eq(pssh_output_exit_code(outs[i]), 0);
        free(out);
    }
    unref_all(outs, n);
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    pssh_config_free(wrong_cfg);
    pssh_config_free(silent_cfg);
    for (int i = 0; i < HEALTHY; i++)
        free(owned[i]);
    bad_server_stop(&silent);
}

Test(parallel, stop_on_errors_returns_the_first_failure)
{
    const char *hosts[4];
    char h[3][64];
    for (int i = 0; i < 3; i++) {
        snprintf(h[i], sizeof h[i], "%s", fleet_host(i + 1));
        hosts[i] = h[i];
    }
    hosts[3] = "127.0.0.1:1";
    pssh_parallel *p = make_parallel(hosts, 4, NULL);
    pssh_output *outs[4];
    double t0 = now_ms();
    cr_assert_eq(pssh_parallel_run_command(p, "echo hi", NULL, outs), PSSH_E_REFUSED);
    cr_assert(now_ms() - t0 < within(2000));
    cr_assert(strstr(pssh_parallel_error_message(p), "127.0.0.1:1") != NULL, "%s", pssh_parallel_error_message(p));
    cr_assert_eq(pssh_parallel_host_error(p, 3), PSSH_E_REFUSED);
    /* The other hosts go on: their outputs are there to read. */
    cr_assert_eq(pssh_parallel_join(p, 10000, 0, NULL), PSSH_OK);
    for (int i = 0; i < 3; i++) {
        size_t n;
        char *out = read_all(outs[i], PSSH_STDOUT, &n);
        cr_assert_str_eq(out, "hi\n");
        free(out);
    }
    unref_all(outs, 4);
    pssh_parallel_unref(p);
}

/* A per-host value that is set wins, false and 0 included: the host whose
 * retries are set to 0 connects once, the other three times. */
Test(parallel, per_host_zero_wins_over_defaults)
{
    /* A server that closes at once: a handshake failure, which is retried. */
    bad_server s = bad_server_start(BAD_CLOSE);
    char h[64];
    snprintf(h, sizeof h, "%s", bad_server_host(&s));
    const char *hosts[2] = {h, h};
    pssh_config *defaults = fleet_config();
    pssh_config_set_retries(defaults, 2, 400);
    pssh_config *zero = NULL;
    pssh_config_new(&zero);
    pssh_config_set_retries(zero, 0, 0);
    const pssh_config *per[2] = {zero, NULL};
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, 2, defaults, per, &p), PSSH_OK);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, outs), PSSH_OK);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pssh_output_error(outs[i]), PSSH_E_SESSION, "%s: %s", hosts[i],
                     pssh_err_name(pssh_output_error(outs[i])));
    cr_assert(strstr(pssh_output_error_message(outs[0]), "attempts") == NULL, "%s", pssh_output_error_message(outs[0]));
    cr_assert(strstr(pssh_output_error_message(outs[1]), "after 3 attempts") != NULL, "%s",
              pssh_output_error_message(outs[1]));
    cr_assert_eq(bad_server_accepted(&s), 1 + 3, "%d connections", bad_server_accepted(&s));
    unref_all(outs, 2);
    pssh_parallel_unref(p);
    bad_server_stop(&s);
    pssh_config_free(defaults);
    pssh_config_free(zero);
}

/* A name that does not exist fails its own host only (through the
 * stand-in resolver: never the machine's DNS). */
Test(parallel, unresolvable_name_fails_its_host_only)
{
    use_stub_dns();
    char healthy[64];
    snprintf(healthy, sizeof healthy, "%s", fleet_host(1));
    const char *hosts[2] = {healthy, "nowhere.invalid"};
    pssh_parallel *p = make_parallel(hosts, 2, NULL);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_command(p, "echo up", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 30000, 0, NULL), PSSH_OK);
    cr_assert_eq(pssh_output_error(outs[1]), PSSH_E_UNKNOWN_HOST, "%s", pssh_output_error_message(outs[1]));
    cr_assert(strstr(pssh_output_error_message(outs[1]), "nowhere.invalid") != NULL, "%s",
              pssh_output_error_message(outs[1]));
    char *out = read_all(outs[0], PSSH_STDOUT, NULL);
    cr_assert_str_eq(out, "up\n");
    free(out);
    unref_all(outs, 2);
    pssh_parallel_unref(p);
}

/* join with a timeout says who finished; a second join waits for the rest.
 * Two hosts run `cat`, which ends only when its stdin is closed, so how
 * long the others take on a busy machine does not matter. */
Test(parallel, join_timeout_then_join_again)
{
    const size_t n = 6;
    const char **hosts = fleet_hosts(n);
    pssh_parallel *p = make_parallel(hosts, n, NULL);
    const char *cmds[6] = {"true", "true", "true", "cat", "cat", "true"};
    pssh_output *outs[6];
    cr_assert_eq(pssh_parallel_run_commands(p, cmds, n, NULL, outs), PSSH_OK);
    size_t unfinished = 0;
    pssh_err rc;
    double t0 = now_ms();
    do
        rc = pssh_parallel_join(p, 200, 0, &unfinished);
    while (rc == PSSH_E_TIMEOUT && unfinished > 2 && now_ms() - t0 < within(30000));
    cr_assert_eq(rc, PSSH_E_TIMEOUT, "%s", pssh_err_name(rc));
    cr_assert_eq(unfinished, 2);
    cr_assert(pssh_output_finished(outs[0]) && !pssh_output_finished(outs[3]) && !pssh_output_finished(outs[4]));
    cr_assert(!pssh_parallel_finished(p));
    cr_assert_eq(pssh_output_close_stdin(outs[3], 10000), PSSH_OK);
    cr_assert_eq(pssh_output_close_stdin(outs[4], 10000), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 10000, 0, &unfinished), PSSH_OK);
    cr_assert_eq(unfinished, 0);
    cr_assert(pssh_output_finished(outs[3]) && pssh_parallel_finished(p));
    unref_all(outs, n);
    pssh_parallel_unref(p);
    free_hosts(hosts, n);
}

/* Bounded memory: a buffer at its limit holds the host back; join says so,
 * consume_output throws it away, and reading later loses nothing. */
Test(parallel, full_buffers_hold_hosts_back)
{
    const size_t n = 4;
    const char **hosts = fleet_hosts(n);
    pssh_parallel *p = make_parallel(hosts, n, NULL);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.buffer_limit = 64 * 1024;
    pssh_output *outs[4];
    cr_assert_eq(pssh_parallel_run_command(p, "seq 1 200000", &opts, outs), PSSH_OK);
    size_t unfinished = 0;
    cr_assert_eq(pssh_parallel_join(p, 20000, 0, &unfinished), PSSH_E_FULL);
    cr_assert_eq(unfinished, n);
    for (size_t i = 0; i < n; i++) { /* every byte, in order, read late */
        const char *line;
        size_t len;
        long k = 0;
        pssh_err rc;
        while ((rc = pssh_output_read_line(outs[i], PSSH_STDOUT, &line, &len, 20000)) == PSSH_OK) {
            k++;
            char want[16];
            int w = snprintf(want, sizeof want, "%ld", k);
            cr_assert(len == (size_t)w && !memcmp(line, want, len), "host %zu line %ld", i, k);
        }
        cr_assert_eq(rc, PSSH_EOF);
        cr_assert_eq(k, 200000);
    }
    unref_all(outs, n);
    cr_assert_eq(pssh_parallel_run_command(p, "seq 1 200000", &opts, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 20000, 1, &unfinished), PSSH_OK);
    cr_assert_eq(unfinished, 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(pssh_output_exit_code(outs[i]), 0);
    unref_all(outs, n);
    pssh_parallel_unref(p);
    free_hosts(hosts, n);
}

/* Streaming: lines from any host as they arrive, each attributed, in order
 * per host; one exit call per host. */
struct stream_state {
    long next[N];
    int exits[N];
    long lines;
    int bad;
};
static void on_line(pssh_output *o, size_t host, pssh_stream s, const char *line, size_t len, void *ud)
{
    struct stream_state *st = ud;
    (void)o;
    char want[32];
    int w = snprintf(want, sizeof want, "h%zu:%ld\n", host, st->next[host] + 1);
    if (s != PSSH_STDOUT || len != (size_t)w || memcmp(line, want, len))
        st->bad++;
    st->next[host]++;
    st->lines++;
}
static void on_exit_cb(pssh_output *o, size_t host, void *ud)
{
    struct stream_state *st = ud;
    if (pssh_output_exit_code(o) == 0)
        st->exits[host]++;
}

Test(parallel, streaming_callbacks)
{
    const char **hosts = fleet_hosts(N);
    pssh_parallel *p = make_parallel(hosts, N, NULL);
    static struct stream_state st;
    memset(&st, 0, sizeof st);
    cr_assert_eq(pssh_parallel_set_callbacks(p, on_line, on_exit_cb, &st), PSSH_OK);
    char *cmds[N];
    for (int i = 0; i < N; i++) {
        cmds[i] = malloc(64);
        snprintf(cmds[i], 64, "seq -f 'h%d:%%g' 1 2000", i);
    }
    cr_assert_eq(pssh_parallel_run_commands(p, (const char *const *)cmds, N, NULL, NULL), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 60000, 0, NULL), PSSH_OK);
    cr_assert_eq(st.bad, 0);
    cr_assert_eq(st.lines, (long)N * 2000);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(st.next[i], 2000, "host %d", i);
        cr_assert_eq(st.exits[i], 1, "host %d", i);
        free(cmds[i]);
    }
    pssh_parallel_unref(p);
    free_hosts(hosts, N);
}

Test(parallel, outputs_outlive_the_parallel_client)
{
    const size_t n = 5;
    const char **hosts = fleet_hosts(n);
    pssh_parallel *p = make_parallel(hosts, n, NULL);
    pssh_output *outs[5];
    cr_assert_eq(pssh_parallel_run_command(p, "sleep 0.2; echo kept", NULL, outs), PSSH_OK);
    p = pssh_parallel_unref(p);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *out = read_all(outs[i], PSSH_STDOUT, &len);
        cr_assert_str_eq(out, "kept\n");
        cr_assert_eq(pssh_output_wait(outs[i], 10000, 0), PSSH_OK);
        cr_assert_eq(pssh_output_exit_code(outs[i]), 0);
        free(out);
    }
    unref_all(outs, n);
    free_hosts(hosts, n);
}

/* CPU time of this process, in ms (the reading, not the machine's load). */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs `seq 1 200000` on n hosts and reads them host after host, every
 * line checked; returns the CPU time spent reading, per host. */
static double read_hosts_in_turn(size_t n)
{
    const char **hosts = fleet_hosts(n);
    pssh_parallel *p = make_parallel(hosts, n, NULL);
    pssh_output *outs[40];
    cr_assert_eq(pssh_parallel_run_command(p, "seq 1 200000", NULL, outs), PSSH_OK);
    double c0 = cpu_ms();
    for (size_t i = 0; i < n; i++) {
        const char *line;
        size_t len;
        long k = 0;
        char want[16];
        while (pssh_output_read_line(outs[i], PSSH_STDOUT, &line, &len, 30000) == PSSH_OK) {
            int w = snprintf(want, sizeof want, "%ld", ++k);
            if (len != (size_t)w || memcmp(line, want, len))
                cr_assert_fail("host %zu line %ld: '%.*s'", i, k, (int)len, line);
        }
        cr_assert_eq(k, 200000, "host %zu", i);
    }
    double per_host = (cpu_ms() - c0) / (double)n;
    unref_all(outs, n);
    pssh_parallel_unref(p);
    free_hosts(hosts, n);
    return per_host;
}

/* Reading hosts one after another stays linear: a host costs the same
 * CPU whether 10 or 40 hosts wait their turn with full buffers (work per
 * event that grew with the host count, such as a scan of every host,
 * would make it 4 times dearer). CPU time, not wall time: the machine's
 * load does not enter. */
Test(parallel, sequential_reads_of_many_hosts)
{
    double few = read_hosts_in_turn(10);
    double many = read_hosts_in_turn(40);
    cr_log_info("CPU per host read in turn (200000 lines): %.1f ms of 10 hosts, %.1f ms of 40", few, many);
    cr_assert(many < 2 * few + 5, "a host costs %.1f ms of CPU among 40, %.1f ms among 10", many, few);
}

/* 1000 connect/run/release cycles, rounds overlapping, releases in varied
 * order: the fd count comes back and no output gets another's bytes. */
Test(parallel, thousand_cycles_no_fd_growth_no_crossed_output, .timeout = 240)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    enum { ROUND = 20, ROUNDS = 50 };
    const char **hosts = fleet_hosts(ROUND);
    pssh_config *cfg = fleet_config();
    int before = -1;
    pssh_output *prev[ROUND] = {0};
    pssh_parallel *prev_p = NULL;
    for (int r = 0; r < ROUNDS; r++) {
        pssh_parallel *p = NULL;
        cr_assert_eq(pssh_parallel_new(loop, hosts, ROUND, cfg, NULL, &p), PSSH_OK);
        pssh_parallel_set_pool_size(p, r % 5 == 0 ? 3 : ROUND); /* small pools too */
        char *cmds[ROUND];
        for (int i = 0; i < ROUND; i++) {
            cmds[i] = malloc(48);
            snprintf(cmds[i], 48, "echo r%d-h%d", r, i);
        }
        pssh_output *outs[ROUND];
        cr_assert_eq(pssh_parallel_run_commands(p, (const char *const *)cmds, ROUND, NULL, outs), PSSH_OK);
        /* The previous round is released while this one runs. */
        if (prev_p) {
            if (r % 2)
                pssh_parallel_unref(prev_p);
            unref_all(prev, ROUND);
            if (!(r % 2))
                pssh_parallel_unref(prev_p);
        }
        for (int i = 0; i < ROUND; i++) {
            size_t len;
            char *out = read_all(outs[i], PSSH_STDOUT, &len);
            char want[48];
            snprintf(want, sizeof want, "r%d-h%d\n", r, i);
            cr_assert_str_eq(out, want);
            free(out);
            free(cmds[i]);
            prev[i] = outs[i];
        }
        prev_p = p;
        if (r == 0) { /* after warm-up: libraries loaded, resolver idle */
            pssh_parallel_unref(prev_p);
            unref_all(prev, ROUND);
            prev_p = NULL;
            before = count_fds();
        }
    }
    pssh_parallel_unref(prev_p);
    unref_all(prev, ROUND);
    cr_assert_eq(count_fds(), before, "descriptors leaked over %d cycles", ROUND * ROUNDS);
    pssh_config_free(cfg);
    free_hosts(hosts, ROUND);
    pssh_loop_unref(loop);
}

/* The pool bound: never more than n hosts set up at once. Ten entries of
 * one silent server (duplicates stay distinct connections) each hold a
 * pool slot until their timeout; the server counts how many connections
 * it had open at once. */
Test(parallel, pool_bounds_the_hosts_setting_up_at_once)
{
    bad_server s = bad_server_start(BAD_SILENT);
    enum { HOSTS = 10, POOL = 3 };
    char host[64];
    snprintf(host, sizeof host, "%s", bad_server_host(&s));
    const char *hosts[HOSTS];
    for (int i = 0; i < HOSTS; i++)
        hosts[i] = host;
    pssh_config *cfg = fleet_config();
    pssh_config_set_timeout(cfg, (int)within(300));
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, HOSTS, cfg, NULL, &p), PSSH_OK);
    pssh_config_free(cfg);
    cr_assert_eq(pssh_parallel_set_pool_size(p, POOL), PSSH_OK);
    cr_assert_eq(pssh_parallel_set_stop_on_errors(p, 0), PSSH_OK);
    pssh_output *outs[HOSTS];
    cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, outs), PSSH_OK);
    for (int i = 0; i < HOSTS; i++)
        cr_assert_eq(pssh_output_error(outs[i]), PSSH_E_TIMEOUT, "host %d: %s", i,
                     pssh_err_name(pssh_output_error(outs[i])));
    cr_assert_eq(bad_server_accepted(&s), HOSTS);
    cr_assert_eq(bad_server_max_open(&s), POOL, "%d connections were open at once with a pool of %d",
                 bad_server_max_open(&s), POOL);
    unref_all(outs, HOSTS);
    pssh_parallel_unref(p);
    bad_server_stop(&s);
}

/* Streaming delivers each stream's bytes exactly: "\r\n" and "\n" endings
 * as sent, a last line without one, lines longer than the buffer limit in
 * pieces of the limit, stderr apart from stdout, each host its own. */
#define CB_HOSTS 3
struct exact_state {
    char got[CB_HOSTS][2][65536];
    size_t len[CB_HOSTS][2];
    int open_piece[CB_HOSTS][2]; /* the last delivery was a short piece */
    int bad_piece;
    size_t limit;
};
static void on_exact_line(pssh_output *o, size_t host, pssh_stream s, const char *line, size_t len, void *ud)
{
    struct exact_state *st = ud;
    (void)o;
    cr_assert(host < CB_HOSTS && (s == PSSH_STDOUT || s == PSSH_STDERR));
    size_t *at = &st->len[host][s];
    cr_assert(*at + len <= sizeof st->got[host][s]);
    /* A piece without its ending is exactly the limit long, except the
     * stream's last, which nothing follows. */
    if (len == 0 || st->open_piece[host][s] || (line[len - 1] != '\n' && len > st->limit))
        st->bad_piece++;
    st->open_piece[host][s] = line[len - 1] != '\n' && len < st->limit;
    memcpy(st->got[host][s] + *at, line, len);
    *at += len;
}

Test(parallel, callbacks_deliver_each_stream_exactly)
{
    const char **hosts = fleet_hosts(CB_HOSTS);
    pssh_parallel *p = make_parallel(hosts, CB_HOSTS, NULL);
    static struct exact_state st;
    memset(&st, 0, sizeof st);
    st.limit = 8;
    cr_assert_eq(pssh_parallel_set_callbacks(p, on_exact_line, NULL, &st), PSSH_OK);
    /* host i: its number, CRLF and LF lines, a line of 3 pieces, no final
     * newline; 2000 CRLF lines (packet boundaries fall between \r and \n);
     * stderr likewise. */
    const char *script =
        "printf 'h%s\\r\\none\\n0123456789abcdefXYZ\\r\\n'; seq -f 'n%%g' 1 2000 | sed 's/$/\\r/'; printf last; "
        "printf 'e1\\ne2\\r\\n%s-err-without-newline' >&2";
    char *cmds[CB_HOSTS];
    for (int i = 0; i < CB_HOSTS; i++) {
        cmds[i] = malloc(512);
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        snprintf(cmds[i], 512, script, id, id);
    }
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.buffer_limit = st.limit;
    cr_assert_eq(pssh_parallel_run_commands(p, (const char *const *)cmds, CB_HOSTS, &opts, NULL), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 60000, 0, NULL), PSSH_OK);
    for (int i = 0; i < CB_HOSTS; i++) {
        char want[65536];
        size_t w = (size_t)snprintf(want, sizeof want, "h%d\r\none\n0123456789abcdefXYZ\r\n", i);
        for (int k = 1; k <= 2000; k++)
            w += (size_t)snprintf(want + w, sizeof want - w, "n%d\r\n", k);
        w += (size_t)snprintf(want + w, sizeof want - w, "last");
        cr_assert_eq(st.len[i][PSSH_STDOUT], w, "host %d: %zu bytes of stdout, want %zu", i, st.len[i][PSSH_STDOUT], w);
        cr_assert(!memcmp(st.got[i][PSSH_STDOUT], want, w), "host %d: stdout differs", i);
        w = (size_t)snprintf(want, sizeof want, "e1\ne2\r\n%d-err-without-newline", i);
        cr_assert_eq(st.len[i][PSSH_STDERR], w, "host %d: stderr %.*s", i, (int)st.len[i][PSSH_STDERR],
                     st.got[i][PSSH_STDERR]);
        cr_assert(!memcmp(st.got[i][PSSH_STDERR], want, w), "host %d: stderr differs", i);
        free(cmds[i]);
    }
    cr_assert_eq(st.bad_piece, 0, "%d pieces without their ending were not the limit long", st.bad_piece);
    pssh_parallel_unref(p);
    free_hosts(hosts, CB_HOSTS);
}
