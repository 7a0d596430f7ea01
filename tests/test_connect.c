/* Connection faults: each gets its own class within its timeout. Plus host
 * strings, the loop's embedding API, and eagain for raw libssh2 use. */
#include "fixtures/badserver.h"
#include "fixtures/fleet.h"

#include <criterion/criterion.h>
#include <libssh2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(connect, .timeout = 60);
TestSuite(loop, .timeout = 60);

static pssh_err connect_host(const char *host, int timeout_ms, int retries, int delay_ms, char *msg, size_t cap)
{
    pssh_config *cfg = fleet_config();
    pssh_config_set_timeout(cfg, timeout_ms);
    pssh_config_set_retries(cfg, retries, delay_ms);
    pssh_client *c = NULL;
    pssh_err rc = pssh_client_new(NULL, host, cfg, &c);
    pssh_config_free(cfg);
    if (rc != PSSH_OK)
        return rc;
    rc = pssh_client_connect(c);
    if (msg)
        snprintf(msg, cap, "%s", pssh_client_error_message(c));
    pssh_client_unref(c);
    return rc;
}

Test(connect, refused_is_final_and_fast)
{
    char msg[512];
    double t0 = now_ms();
    cr_assert_eq(connect_host("127.0.0.1:1", 5000, 3, 1000, msg, sizeof msg), PSSH_E_REFUSED);
    cr_assert(now_ms() - t0 < within(500), "a refusal is never retried");
    cr_assert(strstr(msg, "refused") != NULL, "%s", msg);
}

Test(connect, unresolvable_name)
{
    char msg[512];
    cr_assert_eq(connect_host("no-such-host.invalid", 5000, 0, 0, msg, sizeof msg), PSSH_E_UNKNOWN_HOST);
    cr_assert(strstr(msg, "no-such-host.invalid") != NULL, "%s", msg);
}

/* A server that closes at once: a handshake failure, which is retried. */
Test(connect, retries_wait_between_attempts)
{
    char msg[512];
    bad_server s = bad_server_start(BAD_CLOSE);
    double t0 = now_ms();
    cr_assert_eq(connect_host(bad_server_host(&s), 5000, 2, 200, msg, sizeof msg), PSSH_E_SESSION);
    double dt = now_ms() - t0;
    bad_server_stop(&s);
    cr_assert(dt >= 395 && dt < within(3000), "2 retries 200 ms apart took %.0f ms", dt);
    cr_assert(strstr(msg, "after 3 attempts") != NULL, "%s", msg);
}

Test(connect, silent_server_times_out)
{
    bad_server s = bad_server_start(BAD_SILENT);
    char msg[512];
    double t0 = now_ms();
    cr_assert_eq(connect_host(bad_server_host(&s), 500, 0, 0, msg, sizeof msg), PSSH_E_TIMEOUT);
    double dt = now_ms() - t0;
    cr_assert(dt >= 490 && dt < within(1500), "timeout after %.0f ms", dt);
    cr_assert(strstr(msg, "handshake") != NULL, "%s", msg);
    bad_server_stop(&s);
}

Test(connect, listener_that_never_accepts_times_out)
{
    bad_server s = bad_server_start(BAD_NO_ACCEPT);
    cr_assert_eq(connect_host(bad_server_host(&s), 400, 0, 0, NULL, 0), PSSH_E_TIMEOUT);
    bad_server_stop(&s);
}

Test(connect, banner_then_silence_times_out)
{
    bad_server s = bad_server_start(BAD_BANNER_SILENT);
    char msg[512];
    cr_assert_eq(connect_host(bad_server_host(&s), 400, 0, 0, msg, sizeof msg), PSSH_E_TIMEOUT);
    bad_server_stop(&s);
}

Test(connect, protocol_failures_are_session_errors)
{
    bad_mode modes[] = {BAD_CLOSE, BAD_GARBAGE, BAD_BANNER_CLOSE};
    for (int i = 0; i < 3; i++) {
        bad_server s = bad_server_start(modes[i]);
        char msg[512];
        double t0 = now_ms();
        cr_assert_eq(connect_host(bad_server_host(&s), 5000, 0, 0, msg, sizeof msg), PSSH_E_SESSION, "mode %d: %s", i, msg);
        cr_assert(now_ms() - t0 < within(2000));
        cr_assert(strstr(msg, "handshake") != NULL, "%s", msg);
        bad_server_stop(&s);
    }
}

Test(connect, malformed_hosts)
{
    const char *bad[] = {"", "host:0", "host:65536", "host:x", "host:", "[::1", "[::1]x", "a b", "@host",
                         "ho/st", "[]:22"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pssh_client *c = NULL;
        cr_assert_eq(pssh_client_new(NULL, bad[i], NULL, &c), PSSH_E_HOST_ARG, "'%s'", bad[i]);
        cr_assert_null(c);
    }
    const char *good[] = {"host", "user@host:22", "[::1]:2222", "::1", "10.0.0.1:65535", "a-b_c.d"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        pssh_client *c = NULL;
        cr_assert_eq(pssh_client_new(NULL, good[i], NULL, &c), PSSH_OK, "'%s'", good[i]);
        pssh_client_unref(c);
    }
}

Test(connect, ipv6_literal_and_ipv6_only)
{
    cr_assert_eq(connect_host("[::1]:1", 2000, 0, 0, NULL, 0), PSSH_E_REFUSED);
    pssh_config *cfg = fleet_config();
    pssh_config_set_ipv6_only(cfg, 1);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, fleet_host(1), cfg, &c), PSSH_OK);
    cr_assert_eq(pssh_client_connect(c), PSSH_E_UNKNOWN_HOST);
    pssh_client_unref(c);
    pssh_config_free(cfg);
}

Test(connect, name_resolution_for_localhost)
{
    char host[64];
    snprintf(host, sizeof host, "localhost:%d", fleet_port());
    /* localhost is 127.0.0.1: host 1 of the fleet; its known_hosts entry is
     * by address, so policy off here. */
    pssh_config *cfg = fleet_config();
    pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, host, cfg, &c), PSSH_OK);
    cr_assert_eq(pssh_client_connect(c), PSSH_OK, "%s", pssh_client_error_message(c));
    pssh_client_unref(c);
    pssh_config_free(cfg);
}

Test(connect, invalid_arguments)
{
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, NULL, NULL, &c), PSSH_E_INVAL);
    cr_assert_eq(pssh_client_new(NULL, "h", NULL, NULL), PSSH_E_INVAL);
    cr_assert_eq(pssh_client_connect(NULL), PSSH_E_INVAL);
    cr_assert_eq(pssh_client_run_command(NULL, "x", NULL, NULL), PSSH_E_INVAL);
    pssh_config *cfg = NULL;
    cr_assert_eq(pssh_config_new(&cfg), PSSH_OK);
    cr_assert_eq(pssh_config_set_port(cfg, 0), PSSH_E_INVAL);
    cr_assert_eq(pssh_config_set_port(cfg, 70000), PSSH_E_INVAL);
    cr_assert_eq(pssh_config_set_timeout(cfg, -1), PSSH_E_INVAL);
    cr_assert_eq(pssh_config_set_retries(cfg, -1, 0), PSSH_E_INVAL);
    cr_assert_eq(pssh_config_set_host_key_policy(cfg, (pssh_host_key_policy)9), PSSH_E_INVAL);
    cr_assert_eq(pssh_config_set_user(cfg, ""), PSSH_E_INVAL);
    pssh_config_free(cfg);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.version = 99;
    c = fleet_client(NULL, 1);
    pssh_output *o = NULL;
    cr_assert_eq(pssh_client_run_command(c, "true", &opts, &o), PSSH_E_INVAL);
    cr_assert_null(o);
    pssh_client_unref(c);
    cr_assert_null(pssh_output_unref(NULL));
    cr_assert_eq(pssh_output_exit_code(NULL), -1);
}

Test(loop, errors_have_names_and_texts)
{
    for (int e = PSSH_EOF; e >= PSSH_E_AGAIN; e--) {
        cr_assert_neq(strcmp(pssh_err_name((pssh_err)e), "PSSH_E_UNKNOWN"), 0, "%d has no name", e);
        cr_assert_neq(strcmp(pssh_strerror((pssh_err)e), "unknown error"), 0, "%d has no text", e);
    }
    cr_assert_str_eq(pssh_strerror((pssh_err)-999), "unknown error");
    cr_assert(strstr(pssh_version(), PSSH_VERSION_STR) == pssh_version());
    cr_assert_eq(pssh_version_num(), PSSH_VERSION_NUM);
}

static pssh_loop *log_loop;
static pssh_err nested_rc = PSSH_OK;
static void nested_log(pssh_log_level l, const char *m, void *u)
{
    (void)l;
    (void)m;
    (void)u;
    nested_rc = pssh_loop_run_once(log_loop, 0);
}

Test(loop, embedding_and_reentrancy)
{
    cr_assert_eq(pssh_loop_new(&log_loop), PSSH_OK);
    cr_assert(pssh_loop_fd(log_loop) >= 0);
    cr_assert_eq(pssh_loop_timeout_ms(log_loop), -1);
    cr_assert_eq(pssh_loop_run_once(log_loop, 0), PSSH_OK);
    cr_assert_eq(pssh_loop_run(log_loop, 100), PSSH_OK, "an empty loop has nothing to run");
    cr_assert_eq(pssh_loop_wakeup(log_loop), PSSH_OK);
    cr_assert_eq(pssh_loop_run_once(log_loop, 1000), PSSH_OK);
    cr_assert_eq(pssh_loop_set_log(log_loop, PSSH_LOG_TRACE, nested_log, NULL), PSSH_OK);
    pssh_client *c = fleet_client(log_loop, 1);
    pssh_output *o = fleet_run(c, "true", NULL);
    cr_assert_eq(nested_rc, PSSH_E_BUSY, "running the loop from a callback must be refused");
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_loop_unref(log_loop);
}

/* A caller's own poll loop drives libpssh through pssh_loop_fd. */
Test(loop, driven_by_a_callers_loop)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_client *c = fleet_client(loop, 1);
    pssh_output *o = fleet_run(c, "echo polled", NULL);
    /* Reading with timeout 0 never waits: the caller waits on the fd. */
    const char *line;
    size_t len;
    pssh_err rc;
    int turns = 0;
    while ((rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 0)) == PSSH_E_AGAIN && turns++ < 1000) {
        int t = pssh_loop_timeout_ms(loop);
        cr_assert_eq(pssh_loop_run_once(loop, t < 0 || t > 100 ? 100 : t), PSSH_OK);
    }
    cr_assert_eq(rc, PSSH_OK);
    cr_assert_arr_eq(line, "polled", 6);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_loop_unref(loop);
}

/* Raw libssh2 through the client's session, driven by eagain. */
struct open_ctx {
    LIBSSH2_SESSION *s;
    LIBSSH2_CHANNEL *ch;
};
static int open_channel(void *arg)
{
    struct open_ctx *x = arg;
    x->ch = libssh2_channel_open_session(x->s);
    return x->ch ? 0 : libssh2_session_last_errno(x->s);
}
static int exec_cat(void *arg) { return libssh2_channel_exec(((struct open_ctx *)arg)->ch, "cat"); }
static long write_ch(void *arg, const char *buf, size_t len)
{
    return (long)libssh2_channel_write(((struct open_ctx *)arg)->ch, buf, len);
}
static int send_eof(void *arg) { return libssh2_channel_send_eof(((struct open_ctx *)arg)->ch); }
static char rbuf[64];
static int read_ch(void *arg) { return (int)libssh2_channel_read(((struct open_ctx *)arg)->ch, rbuf, sizeof rbuf); }
static int close_ch(void *arg) { return libssh2_channel_close(((struct open_ctx *)arg)->ch); }

Test(loop, eagain_drives_raw_libssh2)
{
    pssh_client *c = fleet_client(NULL, 1);
    int rc = 0;
    cr_assert_eq(pssh_client_eagain(c, open_channel, NULL, 1000, &rc), PSSH_E_STATE, "not connected yet");
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    struct open_ctx x = {pssh_client_session(c), NULL};
    cr_assert_not_null(x.s);
    cr_assert_eq(pssh_client_eagain(c, open_channel, &x, 5000, &rc), PSSH_OK);
    cr_assert_eq(rc, 0);
    cr_assert_eq(pssh_client_eagain(c, exec_cat, &x, 5000, &rc), PSSH_OK);
    cr_assert_eq(rc, 0);
    size_t written = 0;
    long wrc = 0;
    cr_assert_eq(pssh_client_eagain_write(c, write_ch, &x, "raw!", 4, 5000, &written, &wrc), PSSH_OK);
    cr_assert_eq(written, 4);
    cr_assert_eq(pssh_client_eagain(c, send_eof, &x, 5000, &rc), PSSH_OK);
    cr_assert_eq(pssh_client_eagain(c, read_ch, &x, 5000, &rc), PSSH_OK);
    cr_assert_eq(rc, 4);
    cr_assert_arr_eq(rbuf, "raw!", 4);
    cr_assert_eq(pssh_client_eagain(c, close_ch, &x, 5000, &rc), PSSH_OK);
    libssh2_channel_free(x.ch);
    pssh_client_unref(c);
}
