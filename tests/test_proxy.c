/* Proxy (jump) hosts, issue 18: targets that only answer through a proxy
 * (tests/fixtures/netlab.h), forwarder threads, and their errors. Every
 * test makes its own lab of network namespaces and moves into it. */
#include "fixtures/badserver.h"
#include "fixtures/fleet.h"
#include "fixtures/netlab.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Suite-level timeouts only: Criterion's per-test .timeout leaks 48 bytes
// under LeakSanitizer (make asan). The hundred-target and exit-loop tests get
// suites of their own for their longer bounds (scaled by
// PSSH_TEST_TIME_SCALE, as every Criterion bound is: fixtures/fleet.c).
TestSuite(proxy, .timeout = 300);
TestSuite(proxy_many, .timeout = 600);
TestSuite(proxy_exit, .timeout = 1200);

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The process's sockets by kind: TCP/IP ones, listening ones, AF_UNIX. */
static void count_sockets(int *inet, int *listening, int *local)
{
    *inet = *listening = *local = 0;
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name), v = 0;
        socklen_t len = sizeof v;
        if (e->d_name[0] == '.' || fd == dirfd(d) || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0)
            continue; /* not a socket */
        *inet += v == AF_INET || v == AF_INET6;
        *local += v == AF_UNIX;
        len = sizeof v;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v)
            ++*listening;
    }
    closedir(d);
}

/* Threads settle a moment after a join: wait (bounded) for the count. */
static int threads_become(int want, double ms)
{
    double end = now_ms() + within(ms);
    int n;
    while ((n = count_threads()) != want && now_ms() < end) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return n;
}

static char **targets(int n, int first)
{
    char **h = calloc((size_t)n, sizeof *h);
    cr_assert_not_null(h);
    for (int i = 0; i < n; i++)
        h[i] = strdup(netlab_target(first + i));
    return h;
}

static void free_strs(char **h, int n)
{
    for (int i = 0; i < n; i++)
        free(h[i]);
    free(h);
}

static pssh_config *via(const netlab *lab, const char *jump)
{
    pssh_config *cfg = netlab_config(lab);
    cr_assert_eq(pssh_config_set_proxy(cfg, jump), PSSH_OK, "proxy %s", jump);
    return cfg;
}

static pssh_parallel *parallel(char **hosts, int n, pssh_config *cfg)
{
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, (const char *const *)hosts, (size_t)n, cfg, NULL, &p), PSSH_OK);
    pssh_parallel_set_stop_on_errors(p, 0);
    return p;
}

static void release_all(pssh_output **outs, int n)
{
    for (int i = 0; i < n; i++)
        pssh_output_unref(outs[i]);
}

/* The whole stdout of a finished output. */
static char *out_of(pssh_output *o)
{
    size_t n;
    return read_all(o, PSSH_STDOUT, &n);
}

/* ---- Reaching targets through a proxy ---- */

Test(proxy, targets_answer_only_through_the_proxy)
{
    netlab lab;
    netlab_start(&lab, 4, 1, NULL);
    /* Directly: no route from here. */
    pssh_config *direct = netlab_config(&lab);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, netlab_target(0), direct, &c), PSSH_OK);
    pssh_err rc = pssh_client_connect(c);
    cr_assert(rc == PSSH_E_CONNECT || rc == PSSH_E_TIMEOUT, "direct: %s: %s", pssh_err_name(rc),
              pssh_client_error_message(c));
    pssh_client_unref(c);
    pssh_config_free(direct);

    /* Through the proxy: the target sees the proxy's address. */
    char **h = targets(4, 0);
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    pssh_parallel *p = parallel(h, 4, cfg);
    pssh_output *outs[4];
    cr_assert_eq(pssh_parallel_run_command(p, "echo ${SSH_CONNECTION%% *}; echo $((6*7))", NULL, outs), PSSH_OK,
                 "%s", pssh_parallel_error_message(p));
    for (int i = 0; i < 4; i++) {
        char *out = out_of(outs[i]);
        cr_assert_str_eq(out, "10.77.2.1\n42\n", "host %d: %s", i, out);
        free(out);
        cr_assert_eq(pssh_output_wait(outs[i], 30000, 0), PSSH_OK);
        cr_assert_eq(pssh_output_exit_code(outs[i]), 0);
        pssh_timings t;
        cr_assert_eq(pssh_output_timings(outs[i], &t), PSSH_OK);
        cr_assert(t.connect_ms > 0 && t.handshake_ms > 0 && t.auth_ms >= 0, "timings %f %f %f", t.connect_ms,
                  t.handshake_ms, t.auth_ms);
    }
    release_all(outs, 4);
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    free_strs(h, 4);
    netlab_stop(&lab);
}

Test(proxy, single_client_through_a_proxy)
{
    netlab lab;
    netlab_start(&lab, 1, 1, NULL);
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, netlab_target(0), cfg, &c), PSSH_OK);
    cr_assert_eq(pssh_client_connect(c), PSSH_OK, "%s", pssh_client_error_message(c));
    pssh_output *o = fleet_run(c, "cat; echo end", NULL);
    /* stdin crosses both layers too */
    cr_assert_eq(pssh_output_write_stdin(o, "abc\n", 4, 10000, NULL), PSSH_OK);
    cr_assert_eq(pssh_output_close_stdin(o, 10000), PSSH_OK);
    char *out = out_of(o);
    cr_assert_str_eq(out, "abc\nend\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

/* Output far larger than the socketpair and the windows hold: the tunnel
 * must go back to the channel each time the pair takes the bytes it held. */
Test(proxy, large_output_through_a_proxy)
{
    netlab lab;
    netlab_start(&lab, 3, 1, NULL);
    char **h = targets(3, 0);
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    pssh_parallel *p = parallel(h, 3, cfg);
    pssh_output *outs[3];
    cr_assert_eq(pssh_parallel_run_command(p, "seq 1 200000", NULL, outs), PSSH_OK, "%s",
                 pssh_parallel_error_message(p));
    for (int i = 0; i < 3; i++) { /* the outputs are bounded: read them as they come */
        size_t n = 0;
        char *out = read_all(outs[i], PSSH_STDOUT, &n);
        cr_assert_eq(n, 1288895, "host %d: %zu bytes (%s)", i, n, pssh_output_error_message(outs[i]));
        cr_assert(strncmp(out + n - 7, "200000\n", 7) == 0, "host %d ends with %.7s", i, out + n - 7);
        free(out);
        cr_assert_eq(pssh_output_wait(outs[i], (int)within(30000), 0), PSSH_OK);
        cr_assert_eq(pssh_output_exit_code(outs[i]), 0);
    }
    release_all(outs, 3);
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    free_strs(h, 3);
    netlab_stop(&lab);
}

/* ssh -J a,b: the second proxy lives with the targets, so the chain only
 * works if the first hop carries the second hop's connection. */
Test(proxy, chain_of_two_proxies)
{
    netlab lab;
    netlab_start(&lab, 2, 1, NULL);
    char jump[128];
    snprintf(jump, sizeof jump, "%s,%s", netlab_proxy(0), netlab_inner_proxy_start(&lab));
    char **h = targets(2, 0);
    pssh_config *cfg = via(&lab, jump);
    pssh_parallel *p = parallel(h, 2, cfg);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_command(p, "echo ${SSH_CONNECTION%% *}", NULL, outs), PSSH_OK, "%s",
                 pssh_parallel_error_message(p));
    for (int i = 0; i < 2; i++) {
        char *out = out_of(outs[i]);
        cr_assert_str_eq(out, "10.77.2.2\n", "host %d came from %s", i, out); /* the inner proxy */
        free(out);
    }
    release_all(outs, 2);
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    free_strs(h, 2);
    netlab_stop(&lab);
}

/* A host's own config wins, "" (direct) included. */
Test(proxy, per_host_proxy_and_direct_override)
{
    netlab lab;
    netlab_start(&lab, 1, 1, NULL);
    const char *direct = netlab_direct_start(&lab);
    const char *hosts[] = {netlab_target(0), direct};
    pssh_config *defaults = via(&lab, netlab_proxy(0));
    pssh_config *none = NULL;
    cr_assert_eq(pssh_config_new(&none), PSSH_OK);
    cr_assert_eq(pssh_config_set_proxy(none, ""), PSSH_OK);
    const pssh_config *per[] = {NULL, none};
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, 2, defaults, per, &p), PSSH_OK);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_command(p, "echo ${SSH_CONNECTION%% *}", NULL, outs), PSSH_OK, "%s",
                 pssh_parallel_error_message(p));
    char *a = out_of(outs[0]), *b = out_of(outs[1]);
    cr_assert_str_eq(a, "10.77.2.1\n");
    cr_assert_str_eq(b, "127.0.0.1\n");
    free(a);
    free(b);
    release_all(outs, 2);
    pssh_parallel_unref(p);
    pssh_config_free(none);
    pssh_config_free(defaults);
    netlab_stop(&lab);
}

/* ---- Failures ---- */

static void expect_proxy_error(pssh_output *o, const char *must_contain)
{
    cr_assert_eq(pssh_output_error(o), PSSH_E_PROXY, "%s: %s", pssh_err_name(pssh_output_error(o)),
                 pssh_output_error_message(o));
    cr_assert_not_null(strstr(pssh_output_error_message(o), must_contain), "message: %s",
                       pssh_output_error_message(o));
}

Test(proxy, partial_failure_behind_a_proxy)
{
    netlab lab;
    netlab_start(&lab, 2, 1, NULL);
    const char *hosts[] = {netlab_target(0), "10.77.2.250", netlab_target(1)}; /* .250: nobody there */
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    pssh_config_set_timeout(cfg, (int)within(20000));
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, 3, cfg, NULL, &p), PSSH_OK);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_output *outs[3];
    cr_assert_eq(pssh_parallel_run_command(p, "echo ok", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 60000, 0, NULL), PSSH_OK);
    expect_proxy_error(outs[1], "proxy root@10.77.1.2:22");
    cr_assert_not_null(strstr(pssh_output_error_message(outs[1]), "cannot reach 10.77.2.250:22"), "%s",
                       pssh_output_error_message(outs[1]));
    for (int i = 0; i < 3; i += 2) {
        char *out = out_of(outs[i]);
        cr_assert_str_eq(out, "ok\n");
        free(out);
        cr_assert_eq(pssh_output_error(outs[i]), PSSH_OK);
    }
    release_all(outs, 3);
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

/* One host, one config, one error: the connect's class and message. */
static pssh_err connect_via(pssh_config *cfg, const char *host, char *msg, size_t len, int *attempts)
{
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, host, cfg, &c), PSSH_OK);
    pssh_err rc = pssh_client_connect(c);
    snprintf(msg, len, "%s", pssh_client_error_message(c));
    if (attempts)
        *attempts = pssh_client_attempts(c);
    pssh_client_unref(c);
    return rc;
}

Test(proxy, proxy_refuses_the_connection)
{
    netlab lab;
    netlab_start(&lab, 1, 1, NULL);
    char msg[1024];
    int attempts = 0;
    pssh_config *cfg = via(&lab, "10.77.1.2:2299"); /* nothing listens there */
    pssh_config_set_retries(cfg, 2, 10);
    cr_assert_eq(connect_via(cfg, netlab_target(0), msg, sizeof msg, &attempts), PSSH_E_PROXY, "%s", msg);
    cr_assert_not_null(strstr(msg, "proxy root@10.77.1.2:2299"), "%s", msg);
    cr_assert_not_null(strstr(msg, "refused"), "%s", msg);
    cr_assert_eq(attempts, 1, "a refusal is final, as for a direct host (%d attempts)", attempts);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

Test(proxy, silent_proxy_times_out_and_is_retried)
{
    netlab lab;
    netlab_start(&lab, 1, 1, NULL);
    bad_server silent = bad_server_start(BAD_SILENT); /* in the lab's c: 127.0.0.1 */
    char jump[64], msg[1024];
    snprintf(jump, sizeof jump, "%s", bad_server_host(&silent));
    pssh_config *cfg = via(&lab, jump);
    pssh_config_set_timeout(cfg, 1000);
    pssh_config_set_retries(cfg, 1, 10);
    int attempts = 0;
    double t0 = now_ms();
    cr_assert_eq(connect_via(cfg, netlab_target(0), msg, sizeof msg, &attempts), PSSH_E_PROXY, "%s", msg);
    double took = now_ms() - t0;
    cr_assert_not_null(strstr(msg, "timeout"), "%s", msg);
    cr_assert_not_null(strstr(msg, jump), "names the proxy: %s", msg);
    cr_assert_eq(attempts, 2, "timeouts are retried (%d attempts)", attempts);
    cr_assert(took >= 2000 && took < within(10000), "took %.0f ms", took);
    bad_server_stop(&silent);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

Test(proxy, proxy_refuses_our_key)
{
    netlab lab;
    netlab_start(&lab, 1, 1, NULL);
    char msg[1024];
    int attempts = 0;
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    cr_assert_eq(pssh_config_set_proxy_pkey_file(cfg, fleet_path("id_wrong"), NULL), PSSH_OK);
    pssh_config_set_retries(cfg, 2, 10);
    cr_assert_eq(connect_via(cfg, netlab_target(0), msg, sizeof msg, &attempts), PSSH_E_PROXY, "%s", msg);
    cr_assert_not_null(strstr(msg, "proxy root@10.77.1.2:22"), "%s", msg);
    cr_assert_not_null(strstr(msg, "auth"), "%s", msg);
    cr_assert_eq(attempts, 1, "an auth failure is final (%d attempts)", attempts);
    /* The target's own key still works through a proxy that takes it. */
    cr_assert_eq(pssh_config_set_proxy_pkey_file(cfg, fleet("FLEET_KEY"), NULL), PSSH_OK);
    cr_assert_eq(connect_via(cfg, netlab_target(0), msg, sizeof msg, NULL), PSSH_OK, "%s", msg);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

Test(proxy, proxy_user_is_its_own)
{
    netlab lab;
    netlab_start(&lab, 1, 1, NULL);
    char msg[1024];
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    cr_assert_eq(pssh_config_set_proxy_user(cfg, "nobody-here"), PSSH_OK);
    cr_assert_eq(connect_via(cfg, netlab_target(0), msg, sizeof msg, NULL), PSSH_E_PROXY, "%s", msg);
    cr_assert_not_null(strstr(msg, "proxy nobody-here@10.77.1.2:22"), "%s", msg);
    /* user@ in the jump spec wins over the proxy user. */
    char jump[64];
    snprintf(jump, sizeof jump, "%s@%s", fleet("FLEET_USER"), netlab_proxy(0));
    cr_assert_eq(pssh_config_set_proxy(cfg, jump), PSSH_OK);
    cr_assert_eq(connect_via(cfg, netlab_target(0), msg, sizeof msg, NULL), PSSH_OK, "%s", msg);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

Test(proxy, proxy_host_key_mismatch)
{
    netlab lab;
    netlab_start(&lab, 1, 1, NULL);
    /* The targets' lines, and a wrong ed25519 key for the proxy. */
    char path[512], line[8192];
    snprintf(path, sizeof path, "%s/known_hosts_bad", lab.dir);
    FILE *in = fopen(lab.known_hosts, "r"), *out = fopen(path, "w"), *wrong = fopen(fleet_path("id_wrong.pub"), "r");
    cr_assert(in && out && wrong);
    while (fgets(line, sizeof line, in))
        if (strncmp(line, "10.77.1.2 ", 10) != 0)
            fputs(line, out);
    char type[64], blob[4096];
    cr_assert_eq(fscanf(wrong, "%63s %4095s", type, blob), 2);
    fprintf(out, "10.77.1.2 %s %s\n", type, blob);
    fclose(in);
    fclose(out);
    fclose(wrong);
    char msg[1024];
    int attempts = 0;
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    pssh_config_set_known_hosts(cfg, path);
    pssh_config_set_retries(cfg, 2, 10);
    cr_assert_eq(connect_via(cfg, netlab_target(0), msg, sizeof msg, &attempts), PSSH_E_PROXY, "%s", msg);
    cr_assert_not_null(strstr(msg, "proxy root@10.77.1.2:22"), "%s", msg);
    cr_assert_not_null(strstr(msg, "HOST KEY MISMATCH"), "%s", msg);
    cr_assert_eq(attempts, 1, "a host key failure is final (%d attempts)", attempts);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

/* ---- The proxy going away ---- */

static pssh_parallel *run_sleepers(netlab *lab, int n, const char *direct, pssh_config **cfg_out,
                                   pssh_output **outs, int keepalive)
{
    static char *hosts[64];
    for (int i = 0; i < n; i++)
        hosts[i] = (char *)netlab_target(i);
    pssh_config *cfg = via(lab, netlab_proxy(0));
    if (keepalive)
        pssh_config_set_keepalive(cfg, keepalive);
    const char *list[64];
    for (int i = 0; i < n; i++)
        list[i] = strdup(hosts[i]);
    list[n] = direct;
    pssh_config *none = NULL;
    pssh_config_new(&none);
    pssh_config_set_proxy(none, NULL);
    const pssh_config *per[65] = {0};
    per[n] = none;
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, list, (size_t)n + 1, cfg, per, &p), PSSH_OK);
    pssh_parallel_set_stop_on_errors(p, 0);
    const char *cmds[65];
    for (int i = 0; i < n; i++)
        cmds[i] = "echo started; sleep 60";
    cmds[n] = "echo started; sleep 6; echo direct-done";
    cr_assert_eq(pssh_parallel_run_commands(p, cmds, (size_t)n + 1, NULL, outs), PSSH_OK, "%s",
                 pssh_parallel_error_message(p));
    for (int i = 0; i <= n; i++) {
        const char *line;
        size_t len;
        cr_assert_eq(pssh_output_read_line(outs[i], PSSH_STDOUT, &line, &len, 30000), PSSH_OK);
    }
    for (int i = 0; i < n; i++)
        free((char *)list[i]);
    pssh_config_free(none);
    *cfg_out = cfg;
    return p;
}

static void expect_direct_done(pssh_output *o)
{
    const char *line;
    size_t len;
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 30000), PSSH_OK, "%s",
                 pssh_output_error_message(o));
    cr_assert_eq(len, 11);
    cr_assert_eq(memcmp(line, "direct-done", 11), 0);
    cr_assert_eq(pssh_output_wait(o, 30000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 0);
}

Test(proxy, proxy_dropping_mid_command_fails_its_targets_only)
{
    netlab lab;
    netlab_start(&lab, 3, 1, NULL);
    const char *direct = netlab_direct_start(&lab);
    pssh_config *cfg;
    pssh_output *outs[4];
    pssh_parallel *p = run_sleepers(&lab, 3, direct, &cfg, outs, 0);
    double t0 = now_ms();
    netlab_proxy_kill(&lab, 0);
    for (int i = 0; i < 3; i++) {
        pssh_err rc = pssh_output_wait(outs[i], (int)within(10000), 1);
        cr_assert_eq(rc, PSSH_E_PROXY, "host %d: %s: %s", i, pssh_err_name(rc), pssh_output_error_message(outs[i]));
        expect_proxy_error(outs[i], "proxy root@10.77.1.2:22");
        cr_assert_eq(pssh_output_exit_code(outs[i]), -1);
    }
    cr_assert(now_ms() - t0 < within(5000), "took %.0f ms", now_ms() - t0);
    expect_direct_done(outs[3]);
    release_all(outs, 4);
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

/* A proxy that stops answering (its sockets stay open): its keepalive
 * finds it within about two intervals, and only its targets fail. */
Test(proxy, keepalive_fails_targets_of_a_silent_proxy)
{
    netlab lab;
    netlab_start(&lab, 3, 1, NULL);
    const char *direct = netlab_direct_start(&lab);
    pssh_config *cfg;
    pssh_output *outs[4];
    pssh_parallel *p = run_sleepers(&lab, 3, direct, &cfg, outs, 1);
    netlab_proxy_freeze(&lab, 0, 1);
    double t0 = now_ms();
    for (int i = 0; i < 3; i++) {
        pssh_err rc = pssh_output_wait(outs[i], (int)within(10000), 1);
        cr_assert_eq(rc, PSSH_E_PROXY, "host %d: %s: %s", i, pssh_err_name(rc), pssh_output_error_message(outs[i]));
        expect_proxy_error(outs[i], "keepalive");
    }
    double took = now_ms() - t0;
    cr_log_info("silent proxy found after %.0f ms (keepalive 1 s)", took);
    cr_assert(took < within(3500), "2 intervals of 1 s, plus a turn: took %.0f ms", took);
    expect_direct_done(outs[3]);
    netlab_proxy_freeze(&lab, 0, 0);
    release_all(outs, 4);
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    netlab_stop(&lab);
}

/* As with a direct host whose server restarted, the kept connections are
 * found dead by the next run (a proxy error, naming the proxy); the run
 * after it connects again, through a new connection of the same forwarder. */
Test(proxy, reconnects_after_the_proxy_restarts)
{
    netlab lab;
    netlab_start(&lab, 2, 1, NULL);
    char **h = targets(2, 0);
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    int threads0 = count_threads();
    pssh_parallel *p = parallel(h, 2, cfg);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_command(p, "echo one", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 30000, 0, NULL), PSSH_OK);
    release_all(outs, 2);
    netlab_proxy_restart(&lab, 0); /* the kept connections die with it */
    pssh_parallel_run_command(p, "echo two", NULL, outs);
    cr_assert_eq(pssh_parallel_join(p, 30000, 0, NULL), PSSH_OK);
    for (int i = 0; i < 2; i++)
        expect_proxy_error(outs[i], "proxy root@10.77.1.2:22: connection lost");
    release_all(outs, 2);
    cr_assert_eq(count_threads(), threads0 + 1, "the same forwarder");
    cr_assert_eq(pssh_parallel_run_command(p, "echo three", NULL, outs), PSSH_OK, "%s",
                 pssh_parallel_error_message(p));
    for (int i = 0; i < 2; i++) {
        char *out = out_of(outs[i]);
        cr_assert_str_eq(out, "three\n", "host %d: %s %s", i, out, pssh_output_error_message(outs[i]));
        free(out);
    }
    cr_assert_eq(count_threads(), threads0 + 1, "the same forwarder");
    release_all(outs, 2);
    pssh_parallel_unref(p);
    cr_assert_eq(threads_become(threads0, 5000), threads0);
    pssh_config_free(cfg);
    free_strs(h, 2);
    netlab_stop(&lab);
}

/* ---- Many targets, pools, threads ---- */

Test(proxy_many, hundred_targets_one_proxy_pool_of_one)
{
    netlab lab;
    netlab_start(&lab, 100, 1, NULL);
    char **h = targets(100, 0);
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    int threads0 = count_threads(), fds0 = count_fds();
    int inet0 = 0, listening0 = 0, local0 = 0;
    count_sockets(&inet0, &listening0, &local0);
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(loop, (const char *const *)h, 100, cfg, NULL, &p), PSSH_OK);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_parallel_set_pool_size(p, 1); /* the proxy never takes the one slot */
    pssh_output *outs[100];
    cr_assert_eq(pssh_parallel_run_command(p, "echo ok", NULL, outs), PSSH_OK, "%s", pssh_parallel_error_message(p));
    cr_assert_eq(pssh_parallel_join(p, 120000, 0, NULL), PSSH_OK);
    int threads1 = count_threads(), fds1 = count_fds();
    int inet1 = 0, listening1 = 0, local1 = 0;
    count_sockets(&inet1, &listening1, &local1);
    /* No port of ours anyone could connect to, and one TCP connection (to
     * the proxy) for 100 hosts: theirs are socketpairs. */
    cr_assert_eq(listening1, listening0, "a listening socket");
    cr_assert_eq(inet1 - inet0, 1, "TCP/IP sockets: %d more", inet1 - inet0);
    cr_assert_eq(local1 - local0, 200, "socketpair ends: %d more", local1 - local0);
    for (int i = 0; i < 100; i++) {
        char *out = out_of(outs[i]);
        cr_assert_str_eq(out, "ok\n", "host %d: %s", i, pssh_output_error_message(outs[i]));
        free(out);
    }
    release_all(outs, 100);
    pssh_parallel_unref(p);
    int threads2 = threads_become(threads0, 5000), fds2 = count_fds();
    cr_log_info("100 proxied hosts: threads %d / %d / %d, fds %d / %d / %d (before / during / after)", threads0,
                threads1, threads2, fds0, fds1, fds2);
    fprintf(stderr, "proxy: 100 proxied hosts: threads %d / %d / %d, fds %d / %d / %d (before / during / after)\n",
            threads0, threads1, threads2, fds0, fds1, fds2);
    cr_assert_eq(threads1, threads0 + 1, "one forwarder thread while connected");
    /* Each host: its socket; the forwarder: its end of each, its proxy
     * socket, its epoll and its eventfd. */
    cr_assert_eq(fds1, fds0 + 2 * 100 + 3, "fds during: %d (before %d)", fds1, fds0);
    cr_assert_eq(threads2, threads0, "the forwarder is joined at the last release");
    cr_assert_eq(fds2, fds0, "no descriptor left");
    pssh_loop_unref(loop);
    pssh_config_free(cfg);
    free_strs(h, 100);
    netlab_stop(&lab);
}

Test(proxy_many, hundred_targets_ten_proxies_pool_of_five)
{
    netlab lab;
    netlab_start(&lab, 100, 10, NULL);
    char **h = targets(100, 0);
    pssh_config *cfg = netlab_config(&lab);
    pssh_config *per[100];
    for (int i = 0; i < 100; i++) {
        per[i] = NULL;
        cr_assert_eq(pssh_config_new(&per[i]), PSSH_OK);
        cr_assert_eq(pssh_config_set_proxy(per[i], netlab_proxy(i % 10)), PSSH_OK);
    }
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, (const char *const *)h, 100, cfg, (const pssh_config *const *)per, &p),
                 PSSH_OK);
    pssh_parallel_set_pool_size(p, 5);
    int threads0 = count_threads();
    pssh_output *outs[100];
    cr_assert_eq(pssh_parallel_run_command(p, "echo ok", NULL, outs), PSSH_OK, "%s", pssh_parallel_error_message(p));
    cr_assert_eq(pssh_parallel_join(p, 120000, 0, NULL), PSSH_OK);
    cr_assert_eq(count_threads(), threads0 + 10, "one forwarder per proxy");
    for (int i = 0; i < 100; i++) {
        char *out = out_of(outs[i]);
        cr_assert_str_eq(out, "ok\n", "host %d: %s", i, pssh_output_error_message(outs[i]));
        free(out);
    }
    release_all(outs, 100);
    pssh_parallel_unref(p);
    cr_assert_eq(threads_become(threads0, 5000), threads0);
    for (int i = 0; i < 100; i++)
        pssh_config_free(per[i]);
    pssh_config_free(cfg);
    free_strs(h, 100);
    netlab_stop(&lab);
}

/* The outputs hold the connection, which holds the forwarder: it is
 * joined only when the last one goes. */
Test(proxy, forwarder_joined_at_the_last_release)
{
    netlab lab;
    netlab_start(&lab, 2, 1, NULL);
    char **h = targets(2, 0);
    pssh_config *cfg = via(&lab, netlab_proxy(0));
    int threads0 = count_threads();
    pssh_parallel *p = parallel(h, 2, cfg);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_command(p, "echo a; sleep 1; echo b", NULL, outs), PSSH_OK);
    pssh_parallel_unref(p);
    cr_assert_eq(count_threads(), threads0 + 1);
    char *out = out_of(outs[0]);
    cr_assert_str_eq(out, "a\nb\n");
    free(out);
    pssh_output_unref(outs[0]);
    cr_assert_eq(count_threads(), threads0 + 1, "one output still uses it");
    out = out_of(outs[1]);
    cr_assert_str_eq(out, "a\nb\n");
    free(out);
    pssh_output_unref(outs[1]);
    cr_assert_eq(threads_become(threads0, 5000), threads0);
    pssh_config_free(cfg);
    free_strs(h, 2);
    netlab_stop(&lab);
}

/* exit() with commands running through a tunnel: no crash, no hang, and
 * every forwarder joined before the process ends (the helper counts its
 * threads in an atexit handler that runs after libpssh's). */
Test(proxy_exit, exit_with_tunnels_open_a_hundred_times)
{
    netlab lab;
    netlab_start(&lab, 2, 1, NULL);
    const char *runs_env = getenv("PSSH_PROXY_EXIT_RUNS");
    int runs = runs_env ? atoi(runs_env) : 100;
    for (int r = 0; r < runs; r++) {
        int pipefd[2];
        cr_assert_eq(pipe(pipefd), 0);
        double t0 = now_ms();
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
            dup2(pipefd[1], 1);
            close(pipefd[0]);
            close(pipefd[1]);
            execl(PSSH_PROXY_EXIT_HELPER, PSSH_PROXY_EXIT_HELPER, netlab_proxy(0), lab.known_hosts,
                  fleet("FLEET_KEY"), netlab_target(0), netlab_target(1), (char *)NULL);
            _exit(127);
        }
        close(pipefd[1]);
        char buf[256] = "";
        size_t got = 0;
        ssize_t n;
        while (got < sizeof buf - 1 && (n = read(pipefd[0], buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)n;
        close(pipefd[0]);
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "run %d: status %#x, said: %s", r, status, buf);
        cr_assert_not_null(strstr(buf, "started 2\n"), "run %d said: %s", r, buf);
        const char *b = strstr(buf, "threads before "), *t = strstr(buf, "threads at exit ");
        cr_assert(b && t && atoi(t + 16) == atoi(b + 15), "run %d: a thread outlived exit(): %s", r, buf);
        const char *f = strstr(buf, "\nfds "), *g = strstr(buf, "fds at exit ");
        cr_assert(f && g, "run %d said: %s", r, buf);
        cr_assert_eq(atoi(g + 12), atoi(f + 5) - (2 + 1), "run %d: the forwarder's sockets are closed: %s", r, buf);
        cr_assert(now_ms() - t0 < within(20000), "run %d took %.0f ms", r, now_ms() - t0);
    }
    netlab_stop(&lab);
}
