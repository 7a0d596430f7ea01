/* Hardening: retries, re-entrancy, hostile servers, the end of output.
 * Each test here failed before the fix it guards (issue 14). */
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
