/* Hardening: retries, re-entrancy, hostile servers, the end of output.
 * Each test here failed before the fix it guards (issue 14). */
#include "fixtures/badserver.h"
#include "fixtures/faultproxy.h"
#include "fixtures/fleet.h"
#include "fixtures/sshd.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(hardening, .timeout = 120);

/* The fixture itself: a second sshd that takes the fleet's key. */
Test(hardening, extra_sshd_serves_commands)
{
    extra_sshd s = extra_sshd_start(fleet_path("host_ed25519"), NULL);
    pssh_config *cfg = fleet_config();
    pssh_config_set_known_hosts(cfg, extra_sshd_known_hosts(&s, fleet_path("host_ed25519.pub")));
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, extra_sshd_host(&s), cfg, &c), PSSH_OK);
    pssh_output *o = fleet_run(c, "echo extra", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "extra\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_config_free(cfg);
    extra_sshd_stop(&s);
}

/* ---- Re-entrancy: handles released from callbacks (item 2) ----
 * Each blocking call must hold itself and its loop while it runs. These are
 * use-after-free checks: `make asan` is what makes them fail loudly. */

static const char **hosts_n(size_t n)
{
    const char **h = calloc(n, sizeof *h);
    cr_assert_not_null(h);
    for (size_t i = 0; i < n; i++)
        h[i] = strdup(fleet_host((int)(i % 4) + 1));
    return h;
}

static void free_hosts(const char **h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)h[i]);
    free(h);
}

static pssh_parallel *parallel_on(pssh_loop *loop, const char **hosts, size_t n)
{
    pssh_config *cfg = fleet_config();
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(loop, hosts, n, cfg, NULL, &p), PSSH_OK);
    pssh_config_free(cfg);
    return p;
}

static pssh_parallel *victim_p;
static int releases;

static void exit_releases_parallel(pssh_output *o, size_t i, void *ud)
{
    (void)o, (void)i, (void)ud;
    if (victim_p) {
        victim_p = pssh_parallel_unref(victim_p);
        releases++;
    }
}

static void line_releases_parallel(pssh_output *o, size_t i, pssh_stream s, const char *l, size_t n, void *ud)
{
    (void)o, (void)i, (void)s, (void)l, (void)n, (void)ud;
    exit_releases_parallel(NULL, 0, NULL);
}

/* The client made its own loop: releasing it frees the loop too, while
 * join is inside that loop's run_once. */
Test(hardening, exit_callback_releases_parallel_during_join)
{
    const char **h = hosts_n(3);
    pssh_parallel *p = parallel_on(NULL, h, 3);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_parallel_set_callbacks(p, NULL, exit_releases_parallel, NULL);
    pssh_output *outs[3];
    cr_assert_eq(pssh_parallel_run_command(p, "sleep 0.3; echo x", NULL, outs), PSSH_OK);
    victim_p = pssh_parallel_ref(p);
    pssh_parallel_unref(p); /* the callback now holds the last reference */
    releases = 0;
    cr_assert_eq(pssh_parallel_join(victim_p ? victim_p : p, 20000, 0, NULL), PSSH_OK);
    cr_assert_eq(releases, 1);
    for (int i = 0; i < 3; i++) { /* outputs outlive their client */
        size_t n;
        char *out = read_all(outs[i], PSSH_STDOUT, &n);
        cr_assert_str_eq(out, "x\n");
        free(out);
        pssh_output_unref(outs[i]);
    }
    free_hosts(h, 3);
}

Test(hardening, exit_callback_releases_parallel_during_run)
{
    const char **h = hosts_n(2);
    pssh_parallel *p = parallel_on(NULL, h, 2);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_parallel_set_pool_size(p, 1); /* host 2 starts only after host 1 is over */
    pssh_parallel_set_callbacks(p, NULL, exit_releases_parallel, NULL);
    victim_p = p;
    releases = 0;
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, outs), PSSH_OK);
    cr_assert_eq(releases, 1);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(pssh_output_wait(outs[i], 20000, 0), PSSH_OK);
        pssh_output_unref(outs[i]);
    }
    free_hosts(h, 2);
}

Test(hardening, line_callback_releases_parallel)
{
    const char **h = hosts_n(2);
    pssh_parallel *p = parallel_on(NULL, h, 2);
    pssh_parallel_set_callbacks(p, line_releases_parallel, NULL, NULL);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_command(p, "sleep 0.2; echo a; echo b", NULL, outs), PSSH_OK);
    victim_p = pssh_parallel_ref(p);
    pssh_parallel_unref(p);
    releases = 0;
    cr_assert_eq(pssh_parallel_join(victim_p, 20000, 0, NULL), PSSH_OK);
    cr_assert_eq(releases, 1);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(pssh_output_wait(outs[i], 20000, 0), PSSH_OK);
        pssh_output_unref(outs[i]);
    }
    free_hosts(h, 2);
}

/* The log callback fires inside every blocking call: it releases the
 * handle the caller is blocked on (the client, with the loop it made). */
static pssh_output *victim_o;
static pssh_client *victim_c;
static pssh_loop *victim_l;
static void log_releases(pssh_log_level l, const char *m, void *ud)
{
    (void)l, (void)m, (void)ud;
    if (victim_c) {
        victim_c = pssh_client_unref(victim_c);
        releases++;
    }
    if (victim_o) {
        victim_o = pssh_output_unref(victim_o);
        releases++;
    }
    if (victim_l) {
        victim_l = pssh_loop_unref(victim_l);
        releases++;
    }
}

Test(hardening, log_callback_releases_client_during_connect)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_loop_set_log(loop, PSSH_LOG_TRACE, log_releases, NULL);
    pssh_client *c = fleet_client(loop, 1);
    victim_c = c;
    releases = 0;
    pssh_loop_unref(loop); /* the client holds the loop now */
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    cr_assert_eq(releases, 1);
}

Test(hardening, log_callback_releases_client_during_run_command)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_client *c = fleet_client(loop, 1);
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    pssh_loop_set_log(loop, PSSH_LOG_TRACE, log_releases, NULL);
    pssh_loop_unref(loop);
    victim_c = c;
    releases = 0;
    pssh_output *o = NULL;
    cr_assert_eq(pssh_client_run_command(c, "echo kept", NULL, &o), PSSH_OK);
    cr_assert_eq(releases, 1);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "kept\n");
    free(out);
    pssh_output_unref(o);
}

Test(hardening, log_callback_releases_output_during_wait)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_client *c = fleet_client(loop, 1);
    pssh_output *o = fleet_run(c, "sleep 0.2", NULL);
    pssh_client_unref(c); /* the output holds the connection and the loop */
    pssh_loop_set_log(loop, PSSH_LOG_TRACE, log_releases, NULL);
    pssh_loop_unref(loop);
    victim_o = o;
    releases = 0;
    cr_assert_eq(pssh_output_wait(o, 20000, 0), PSSH_OK);
    cr_assert_eq(releases, 1);
}

Test(hardening, log_callback_releases_output_during_read)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_client *c = fleet_client(loop, 1), *other = fleet_client(loop, 2);
    pssh_output *o = fleet_run(c, "sleep 1; echo late", NULL);
    pssh_output *b = fleet_run(other, "sleep 0.2", NULL); /* its end logs, mid-read */
    pssh_client_unref(c);
    pssh_loop_set_log(loop, PSSH_LOG_TRACE, log_releases, NULL);
    pssh_loop_unref(loop);
    victim_o = o;
    releases = 0;
    const char *line;
    size_t len;
    pssh_err rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 5000);
    cr_assert(rc == PSSH_OK, "%s", pssh_err_name(rc));
    cr_assert_eq(releases, 1);
    pssh_output_unref(b);
    pssh_client_unref(other);
}

Test(hardening, log_callback_releases_loop_during_run)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_client *c = fleet_client(loop, 1);
    pssh_output *o = fleet_run(c, "sleep 0.2", NULL);
    pssh_client_unref(c);
    pssh_loop_set_log(loop, PSSH_LOG_TRACE, log_releases, NULL);
    /* One callback drops the output (the last holder of the connection)
     * and our loop handle: the loop goes while pssh_loop_run runs it. */
    victim_o = o;
    victim_l = loop;
    releases = 0;
    pssh_loop_run(loop, 5000);
    cr_assert_eq(releases, 2);
}

/* ---- A blocking call made from a callback changes nothing (item 3) ---- */

static pssh_parallel *nested_p;
static pssh_err nested_run, nested_connect, nested_join;
static pssh_output *nested_outs[2];
static void exit_calls_blocking(pssh_output *o, size_t i, void *ud)
{
    (void)o, (void)i, (void)ud;
    if (!nested_p)
        return;
    nested_outs[0] = nested_outs[1] = (pssh_output *)&nested_p; /* sentinels */
    nested_run = pssh_parallel_run_command(nested_p, (const char *)ud, NULL, nested_outs);
    nested_connect = pssh_parallel_connect_auth(nested_p);
    nested_join = pssh_parallel_join(nested_p, 0, 1, NULL);
    nested_p = NULL;
}

Test(hardening, blocking_calls_from_a_callback_change_nothing)
{
    const char *marker = fleet_path("nested-run-ran");
    remove(marker);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "touch %s", marker);
    const char **h = hosts_n(2);
    pssh_parallel *p = parallel_on(NULL, h, 2);
    pssh_parallel_set_callbacks(p, NULL, exit_calls_blocking, cmd);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_run_commands(p, (const char *const[]){"true", "sleep 0.5; echo kept"}, 2, NULL,
                                            outs),
                 PSSH_OK);
    nested_p = p;
    cr_assert_eq(pssh_output_wait(outs[0], 20000, 0), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, 20000, 0, NULL), PSSH_OK);
    cr_assert_null(nested_p, "the exit callback did not run");
    cr_assert_eq(nested_run, PSSH_E_BUSY);
    cr_assert_eq(nested_connect, PSSH_E_BUSY);
    cr_assert_eq(nested_join, PSSH_E_BUSY);
    cr_assert_eq(nested_outs[0], (pssh_output *)&nested_p, "outs filled by a refused call");
    cr_assert_eq(nested_outs[1], (pssh_output *)&nested_p, "outs filled by a refused call");
    /* The refused join did not switch the outputs to discarding. */
    size_t n;
    char *out = read_all(outs[1], PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "kept\n");
    free(out);
    /* Nor did the refused run start the command anywhere. */
    pssh_output *chk[2];
    snprintf(cmd, sizeof cmd, "test ! -e %s", marker);
    pssh_parallel_set_callbacks(p, NULL, NULL, NULL);
    cr_assert_eq(pssh_parallel_run_command(p, cmd, NULL, chk), PSSH_OK);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(pssh_output_wait(chk[i], 20000, 0), PSSH_OK);
        cr_assert_eq(pssh_output_exit_code(chk[i]), 0, "the refused run_command ran on host %d", i + 1);
        pssh_output_unref(chk[i]);
        pssh_output_unref(outs[i]);
    }
    pssh_parallel_unref(p);
    free_hosts(h, 2);
}

static pssh_client *nested_c;
static pssh_err nested_c_rc = PSSH_OK;
static pssh_output *nested_c_out;
static void log_calls_blocking(pssh_log_level l, const char *m, void *ud)
{
    (void)l, (void)m, (void)ud;
    if (!nested_c)
        return;
    pssh_client *c = nested_c;
    nested_c = NULL;
    nested_c_out = (pssh_output *)&nested_c;
    nested_c_rc = pssh_client_run_command(c, "true", NULL, &nested_c_out);
}

Test(hardening, client_calls_from_a_callback_are_busy)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_loop_set_log(loop, PSSH_LOG_TRACE, log_calls_blocking, NULL);
    pssh_client *c = fleet_client(loop, 1);
    nested_c = c;
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    cr_assert_null(nested_c);
    cr_assert_eq(nested_c_rc, PSSH_E_BUSY);
    cr_assert_null(nested_c_out, "a refused run_command sets *out to NULL");
    pssh_client_unref(c);
    pssh_loop_unref(loop);
}

/* ---- EOF means the command is over (item 6) ----
 * The command closes both its streams, then runs on: sshd sends EOF on the
 * channel at once, and the exit status only when it exits. Reading both
 * streams to the end must be enough to know the exit code. */
Test(hardening, eof_comes_with_the_exit_status)
{
    pssh_client *c = fleet_client(NULL, 1);
    const char *cmds[][2] = {{"echo me; exec >&- 2>&-; sleep 0.4; exit 3", "3"},
                             {"echo me; exec >&- 2>&-; sleep 0.4; kill -TERM $$", "TERM"}};
    for (int k = 0; k < 2; k++) {
        pssh_output *o = fleet_run(c, cmds[k][0], NULL);
        const char *line;
        size_t len;
        cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000), PSSH_OK);
        cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000), PSSH_EOF);
        cr_assert_eq(pssh_output_read_line(o, PSSH_STDERR, &line, &len, 10000), PSSH_EOF);
        cr_assert(pssh_output_finished(o), "EOF before the command was over");
        if (k == 0) {
            cr_assert_eq(pssh_output_exit_code(o), 3);
        } else {
            cr_assert_eq(pssh_output_exit_code(o), -1);
            cr_assert_str_eq(pssh_output_exit_signal(o), cmds[k][1]);
        }
        pssh_output_unref(o);
    }
    pssh_client_unref(c);
}

/* The raw reader too. */
Test(hardening, raw_eof_comes_with_the_exit_status)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "printf abc; exec >&- 2>&-; sleep 0.4; exit 5", NULL);
    char buf[16];
    size_t n;
    cr_assert_eq(pssh_output_read(o, PSSH_STDOUT, buf, sizeof buf, &n, 10000), PSSH_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(pssh_output_read(o, PSSH_STDOUT, buf, sizeof buf, &n, 10000), PSSH_EOF);
    cr_assert_eq(pssh_output_exit_code(o), 5);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* ---- Hostile transports (items 1, 5, 7), through tests/fixtures/faultproxy ---- */

static pssh_config *proxied_config(int timeout_ms, int retries)
{
    pssh_config *cfg = fleet_config();
    /* The proxy's address is not the host's: no known_hosts entry. */
    pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    pssh_config_set_timeout(cfg, timeout_ms);
    pssh_config_set_retries(cfg, retries, 100);
    return cfg;
}

/* Item 1: the first connection is dropped, the retry must still hold every
 * credential (it failed with PSSH_E_AUTH, "no credential configured"). */
Test(hardening, retry_keeps_credentials)
{
    fault_proxy fp = fault_proxy_start(fleet_host(1), FP_DROP_FIRST, 1);
    pssh_config *cfg = proxied_config((int)within(10000), 2);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, fault_proxy_host(&fp), cfg, &c), PSSH_OK);
    pssh_output *o = NULL;
    pssh_err rc = pssh_client_run_command(c, "echo through", NULL, &o);
    cr_assert_eq(rc, PSSH_OK, "%s: %s", pssh_err_name(rc), pssh_client_error_message(c));
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "through\n");
    free(out);
    cr_assert_eq(pssh_output_attempts(o), 2);
    cr_assert_eq(pssh_client_attempts(c), 2);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_config_free(cfg);
    fault_proxy_stop(&fp);
}

/* Item 5: a server that floods lines and never sends its banner must not
 * take the loop: the other hosts finish, and the flooding host fails within
 * its timeout. */
Test(hardening, pre_banner_flood_does_not_take_the_loop)
{
    fault_proxy fp = fault_proxy_start(NULL, FP_FLOOD, 0);
    const char *hosts[3] = {fault_proxy_host(&fp), fleet_host(1), fleet_host(2)};
    pssh_config *cfg = proxied_config(3000, 0);
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, 3, cfg, NULL, &p), PSSH_OK);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_output *outs[3];
    double t0 = now_ms();
    cr_assert_eq(pssh_parallel_run_command(p, "echo fine", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, (int)within(20000), 0, NULL), PSSH_OK);
    double dt = now_ms() - t0;
    pssh_err e = pssh_output_error(outs[0]);
    cr_assert(e == PSSH_E_SESSION || e == PSSH_E_TIMEOUT, "%s: %s", pssh_err_name(e),
              pssh_output_error_message(outs[0]));
    cr_assert(dt < within(3000) + 1500, "the flooding host took %.0f ms (timeout 3000)", dt);
    for (int i = 1; i < 3; i++) {
        cr_assert_eq(pssh_output_error(outs[i]), PSSH_OK, "%s", pssh_output_error_message(outs[i]));
        size_t n;
        char *out = read_all(outs[i], PSSH_STDOUT, &n);
        cr_assert_str_eq(out, "fine\n");
        free(out);
    }
    for (int i = 0; i < 3; i++)
        pssh_output_unref(outs[i]);
    pssh_parallel_unref(p);
    pssh_config_free(cfg);
    fault_proxy_stop(&fp);
}

/* Item 7: what arrived before the connection dropped is returned first. */
Test(hardening, output_before_a_drop_is_kept)
{
    const long cuts[] = {100000, 300000, 1000000};
    for (int k = 0; k < 3; k++) {
        fault_proxy fp = fault_proxy_start(fleet_host(1), FP_CUT_AFTER, cuts[k]);
        pssh_config *cfg = proxied_config((int)within(10000), 0);
        pssh_client *c = NULL;
        cr_assert_eq(pssh_client_new(NULL, fault_proxy_host(&fp), cfg, &c), PSSH_OK);
        pssh_output *o = fleet_run(c, "seq 1 2000000", NULL);
        /* Every line that came is the right one, in order, up to the cut. */
        long want = 1, lines = 0;
        int cut_line = 0; /* the last line may stop where the stream was cut */
        const char *line;
        size_t len;
        pssh_err rc;
        while ((rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000)) == PSSH_OK) {
            char w[32];
            int wl = snprintf(w, sizeof w, "%ld", want++);
            cr_assert(!cut_line, "a line after the cut one");
            if ((size_t)wl != len || memcmp(w, line, len) != 0) {
                if (len < (size_t)wl && memcmp(w, line, len) == 0)
                    cut_line = 1;
                else
                    cr_assert_fail("line %ld is '%.*s'", want - 1, (int)len, line);
            }
            lines++;
        }
        cr_assert_eq(rc, PSSH_E_LOST, "%s: %s", pssh_err_name(rc), pssh_output_error_message(o));
        /* The handshake takes a few kB; SSH packets, about 35 kB each,
         * are cut where the stream stops: all but the last whole packets
         * must arrive. seq's lines average under 7 bytes here. */
        long min_lines = (cuts[k] - 80000) / 8;
        cr_assert(lines >= min_lines, "cut after %ld bytes: only %ld lines came back", cuts[k], lines);
        pssh_output_unref(o);
        pssh_client_unref(c);
        pssh_config_free(cfg);
        fault_proxy_stop(&fp);
    }
}

/* ---- Item 12: commands libssh2 cannot send are refused before connecting ---- */
Test(hardening, overlong_command_is_refused_before_connecting)
{
    size_t big = 40000;
    char *cmd = malloc(big + 1);
    memset(cmd, 'x', big);
    memcpy(cmd, "true #", 6);
    cmd[big] = 0;
    /* Port 1 refuses: a connection attempt would say PSSH_E_REFUSED. */
    pssh_client *c = NULL;
    pssh_config *cfg = fleet_config();
    cr_assert_eq(pssh_client_new(NULL, "127.0.0.1:1", cfg, &c), PSSH_OK);
    pssh_output *o = NULL;
    cr_assert_eq(pssh_client_run_command(c, cmd, NULL, &o), PSSH_E_INVAL);
    cr_assert_null(o);
    cr_assert(strstr(pssh_client_error_message(c), "32768") != NULL, "%s", pssh_client_error_message(c));
    pssh_client_unref(c);

    const char *hosts[2] = {"127.0.0.1:1", fleet_host(1)};
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, 2, cfg, NULL, &p), PSSH_OK);
    pssh_output *outs[2] = {(pssh_output *)cmd, (pssh_output *)cmd};
    cr_assert_eq(pssh_parallel_run_command(p, cmd, NULL, outs), PSSH_E_INVAL);
    cr_assert_eq(outs[0], (pssh_output *)cmd, "outs written on an argument error");
    cr_assert(strstr(pssh_parallel_error_message(p), "32768") != NULL, "%s", pssh_parallel_error_message(p));
    pssh_parallel_unref(p);

    /* The longest command allowed goes through. */
    cmd[32768] = 0;
    c = fleet_client(NULL, 1);
    o = fleet_run(c, cmd, NULL);
    cr_assert_eq(pssh_output_wait(o, 20000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 0);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_config_free(cfg);
    free(cmd);
}

/* ---- Item 14: the pool bound holds for outputs still waiting for it ---- */
/* Host 1 is refused at once (stop_on_errors returns there); hosts 2-4 are a
 * server that accepts and never speaks, so each holds its pool slot for the
 * whole 500 ms timeout. With a pool of 1 they must take their turns. */
static void wait_all(pssh_output **outs, int from, int to)
{
    for (int i = from; i < to; i++) {
        pssh_err rc = pssh_output_wait(outs[i], (int)within(20000), 1);
        cr_assert_eq(rc, PSSH_E_TIMEOUT, "host %d: %s", i, pssh_err_name(rc));
    }
}

static void pool_bound_case(int new_run)
{
    bad_server silent = bad_server_start(BAD_SILENT);
    char sh[64];
    snprintf(sh, sizeof sh, "%s", bad_server_host(&silent));
    const char *hosts[4] = {"127.0.0.1:1", sh, sh, sh};
    pssh_config *cfg = fleet_config();
    pssh_config_set_timeout(cfg, 500);
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, 4, cfg, NULL, &p), PSSH_OK);
    pssh_parallel_set_pool_size(p, 1);
    pssh_output *outs[4];
    double t0 = now_ms();
    cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, outs), PSSH_E_REFUSED);
    pssh_output *again[4] = {0};
    /* The new run's hosts queue behind the old ones. */
    if (new_run)
        cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, again), PSSH_E_REFUSED);
    pssh_parallel_unref(p);
    wait_all(outs, 1, 4);
    double dt = now_ms() - t0;
    cr_assert(dt >= 1400, "3 hosts through a pool of 1 at 500 ms each took %.0f ms: set up at once", dt);
    for (int i = 0; i < 4; i++) {
        pssh_output_unref(outs[i]);
        pssh_output_unref(again[i]);
    }
    pssh_config_free(cfg);
    bad_server_stop(&silent);
}

Test(hardening, pool_bound_holds_after_release) { pool_bound_case(0); }
Test(hardening, pool_bound_holds_across_runs) { pool_bound_case(1); }

/* ---- API points ---- */

Test(hardening, output_close_keeps_what_arrived)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "echo first; echo err >&2; sleep 30", NULL);
    const char *line;
    size_t len;
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000), PSSH_OK);
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDERR, &line, &len, 10000), PSSH_OK);
    double t0 = now_ms();
    cr_assert_eq(pssh_output_close(o), PSSH_OK);
    cr_assert(now_ms() - t0 < within(200), "close blocked");
    cr_assert(pssh_output_finished(o));
    cr_assert_eq(pssh_output_error(o), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), -1);
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 0), PSSH_EOF);
    cr_assert_eq(pssh_output_close(o), PSSH_OK, "closing twice is a no-op");
    pssh_output_unref(o);
    /* The connection goes on. */
    o = fleet_run(c, "echo next", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "next\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

static int closed_lines, closed_exits;
static void line_closes(pssh_output *o, size_t i, pssh_stream s, const char *l, size_t n, void *ud)
{
    (void)i, (void)s, (void)l, (void)n, (void)ud;
    closed_lines++;
    cr_assert_eq(pssh_output_close(o), PSSH_OK);
}
static void exit_counts(pssh_output *o, size_t i, void *ud)
{
    (void)o, (void)i, (void)ud;
    closed_exits++;
}

static int error_logs;
static void count_errors(pssh_log_level level, const char *msg, void *ud)
{
    (void)ud;
    if (level == PSSH_LOG_ERROR) {
        error_logs++;
        fprintf(stderr, "error log: %s\n", msg);
    }
}

/* Closed in the middle of a burst: the session's read budget for the turn is
 * spent, and freeing it must not wait on a read (it leaked the libssh2
 * session: "libssh2_session_free kept returning EAGAIN"). */
Test(hardening, output_close_from_a_line_callback)
{
    const char **h = hosts_n(2);
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    error_logs = 0;
    cr_assert_eq(pssh_loop_set_log(loop, PSSH_LOG_ERROR, count_errors, NULL), PSSH_OK);
    pssh_parallel *p = parallel_on(loop, h, 2);
    pssh_parallel_set_callbacks(p, line_closes, exit_counts, NULL);
    pssh_output *outs[2];
    closed_lines = closed_exits = 0;
    cr_assert_eq(pssh_parallel_run_command(p, "echo one; sleep 0.2; seq 1 100000; sleep 30", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, (int)within(20000), 0, NULL), PSSH_OK);
    cr_assert_eq(closed_exits, 2);
    cr_assert(closed_lines >= 2 && closed_lines < 1000, "%d lines after close", closed_lines);
    for (int i = 0; i < 2; i++)
        pssh_output_unref(outs[i]);
    pssh_parallel_unref(p);
    pssh_loop_unref(loop);
    cr_assert_eq(error_logs, 0, "%d error lines logged", error_logs);
    free_hosts(h, 2);
}

/* One-shot runs: a host's descriptor goes back as soon as its command is
 * over, while its output stays readable. */
Test(hardening, keep_connections_off_closes_finished_hosts)
{
    const char **h = hosts_n(4);
    pssh_parallel *p = parallel_on(NULL, h, 4);
    cr_assert_eq(pssh_parallel_set_keep_connections(p, 0), PSSH_OK);
    int before = count_fds();
    pssh_output *outs[4];
    cr_assert_eq(pssh_parallel_run_command(p, "echo done", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, (int)within(20000), 0, NULL), PSSH_OK);
    /* The closes run on the loop's next turn. */
    pssh_loop_run(pssh_parallel_loop(p), 1000);
    cr_assert_eq(count_fds(), before, "%d descriptors left open after the run", count_fds() - before);
    for (int i = 0; i < 4; i++) {
        size_t n;
        char *out = read_all(outs[i], PSSH_STDOUT, &n);
        cr_assert_str_eq(out, "done\n");
        free(out);
        cr_assert_eq(pssh_output_exit_code(outs[i]), 0);
        pssh_output_unref(outs[i]);
    }
    /* A later run connects again. */
    cr_assert_eq(pssh_parallel_run_command(p, "echo again", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, (int)within(20000), 0, NULL), PSSH_OK);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pssh_output_error(outs[i]), PSSH_OK, "%s", pssh_output_error_message(outs[i]));
        pssh_output_unref(outs[i]);
    }
    pssh_parallel_unref(p);
    free_hosts(h, 4);
}

/* A host's message stays valid (same text, same pointer) while the loop
 * runs and the host's session goes away; it changes only with the next run
 * on this client. */
Test(hardening, host_messages_last_until_the_next_run)
{
    const char **h = hosts_n(2);
    free((char *)h[1]);
    h[1] = strdup("127.0.0.1:1");
    pssh_parallel *p = parallel_on(NULL, h, 2);
    pssh_parallel_set_stop_on_errors(p, 0);
    cr_assert_eq(pssh_parallel_connect_auth(p), PSSH_OK);
    cr_assert_eq(pssh_parallel_host_error(p, 1), PSSH_E_REFUSED);
    const char *m = pssh_parallel_host_error_message(p, 1);
    char copy[512];
    snprintf(copy, sizeof copy, "%s", m);
    cr_assert(strstr(copy, "refused") != NULL, "%s", copy);
    pssh_output *outs[2];
    cr_assert_eq(pssh_parallel_set_keep_connections(p, 0), PSSH_OK);
    pssh_loop_run(pssh_parallel_loop(p), 300);
    cr_assert_eq(pssh_parallel_host_error_message(p, 1), m);
    cr_assert_str_eq(m, copy);
    cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_join(p, (int)within(20000), 0, NULL), PSSH_OK);
    cr_assert_eq(pssh_parallel_host_error(p, 0), PSSH_OK);
    cr_assert_eq(pssh_parallel_host_error(p, 1), PSSH_E_REFUSED);
    for (int i = 0; i < 2; i++)
        pssh_output_unref(outs[i]);
    pssh_parallel_unref(p);
    free_hosts(h, 2);
}
