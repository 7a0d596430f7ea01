/* Connection faults: each gets its own class within its timeout. Plus host
 * strings, the loop's embedding API, and eagain for raw libssh2 use. */
#include "fixtures/badserver.h"
#include "fixtures/dns.h"
#include "fixtures/fleet.h"
#include "fixtures/sshd.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <libssh2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* Names go to the stand-in resolver (fixtures/dns.h), never to the
 * machine's DNS: NXDOMAIN for all, SERVFAIL for "*servfail*". */
Test(connect, unresolvable_name)
{
    const stub_dns *dns = use_stub_dns();
    char msg[512];
    cr_assert_eq(connect_host("no-such-host.invalid", 5000, 0, 0, msg, sizeof msg), PSSH_E_UNKNOWN_HOST);
    cr_assert(strstr(msg, "no-such-host.invalid") != NULL, "%s", msg);
    cr_assert(stub_dns_queries(dns, "no-such-host.invalid") > 0, "the stand-in resolver was not asked");
}

/* NXDOMAIN is an answer: never retried, whatever the retry policy. */
Test(connect, unknown_name_is_final)
{
    const stub_dns *dns = use_stub_dns();
    char msg[512];
    double t0 = now_ms();
    /* The delay between attempts scales with the bound, so one retry always
     * shows, on a slow machine too. */
    cr_assert_eq(connect_host("gone.invalid", (int)within(8000), 3, (int)within(2000), msg, sizeof msg),
                 PSSH_E_UNKNOWN_HOST);
    cr_assert(now_ms() - t0 < within(2000), "retried: %.0f ms", now_ms() - t0);
    cr_assert(stub_dns_queries(dns, "gone.invalid") > 0, "the stand-in resolver was not asked");
    cr_assert(strstr(msg, "attempts") == NULL, "%s", msg);
}

/* SERVFAIL (EAI_AGAIN) is a resolver that may recover: retried. */
Test(connect, resolver_failure_is_retried)
{
    const stub_dns *dns = use_stub_dns();
    char msg[512];
    double t0 = now_ms();
    cr_assert_eq(connect_host("dns-servfail.invalid", within(20000), 2, 200, msg, sizeof msg),
                 PSSH_E_UNKNOWN_HOST);
    cr_assert(now_ms() - t0 >= 395, "not retried: %.0f ms", now_ms() - t0);
    cr_assert(strstr(msg, "after 3 attempts") != NULL, "%s", msg);
    cr_assert(stub_dns_queries(dns, "dns-servfail.invalid") >= 3, "%d queries",
              stub_dns_queries(dns, "dns-servfail.invalid"));
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

/* A server that stalls: PSSH_E_TIMEOUT once the config timeout has passed
 * (not before, not much later), naming the phase it stalled in. */
static void times_out_in_phase(bad_mode mode, int timeout_ms, const char *phase)
{
    bad_server s = bad_server_start(mode);
    char msg[512];
    double t0 = now_ms();
    pssh_err rc = connect_host(bad_server_host(&s), timeout_ms, 0, 0, msg, sizeof msg);
    double dt = now_ms() - t0;
    bad_server_stop(&s);
    cr_assert_eq(rc, PSSH_E_TIMEOUT, "%s: %s", pssh_err_name(rc), msg);
    cr_assert(dt >= timeout_ms - 10 && dt < within(timeout_ms + 1000), "timeout after %.0f ms", dt);
    cr_assert(strstr(msg, phase) != NULL, "not while %s: %s", phase, msg);
}

/* A full accept queue: the kernel drops the SYN, so TCP itself never
 * connects (a listener that merely never accepts completes TCP). */
Test(connect, tcp_connect_times_out) { times_out_in_phase(BAD_BACKLOG_FULL, 500, "while connecting"); }

Test(connect, silent_server_times_out) { times_out_in_phase(BAD_SILENT, 500, "in the SSH handshake"); }

Test(connect, listener_that_never_accepts_times_out)
{
    times_out_in_phase(BAD_NO_ACCEPT, 400, "in the SSH handshake");
}

Test(connect, banner_then_silence_times_out)
{
    times_out_in_phase(BAD_BANNER_SILENT, 400, "in the SSH handshake");
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

/* The fleet's [::1] listener: a command runs over IPv6, ipv6_only or not;
 * ipv6_only refuses an IPv4 address before connecting. */
Test(connect, ipv6_literal_and_ipv6_only)
{
    const char *host6 = fleet("FLEET_HOST6");
    if (!*host6)
        cr_skip_test("loopback has no IPv6 address here, so the fleet has no [::1] listener");
    cr_assert_eq(connect_host("[::1]:1", 2000, 0, 0, NULL, 0), PSSH_E_REFUSED);
    for (int only = 0; only <= 1; only++) {
        pssh_config *cfg = fleet_config();
        pssh_config_set_ipv6_only(cfg, only);
        pssh_client *c = NULL;
        cr_assert_eq(pssh_client_new(NULL, host6, cfg, &c), PSSH_OK);
        pssh_output *o = fleet_run(c, "echo \"$SSH_CONNECTION\"", NULL);
        size_t n;
        char *out = read_all(o, PSSH_STDOUT, &n);
        cr_assert(strncmp(out, "::1 ", 4) == 0 && strstr(out, " ::1 ") != NULL, "not over IPv6: %s", out);
        free(out);
        pssh_output_unref(o);
        pssh_client_unref(c);
        pssh_config_free(cfg);
    }
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
    cr_assert_eq(pssh_loop_set_log(log_loop, PSSH_LOG_TRACE, nested_log, NULL), PSSH_OK);
    pssh_client *c = fleet_client(log_loop, 1);
    pssh_output *o = fleet_run(c, "true", NULL);
    cr_assert_eq(nested_rc, PSSH_E_BUSY, "running the loop from a callback must be refused");
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_loop_unref(log_loop);
}

struct waker {
    pssh_loop *loop;
    double sent_at;
};
static void *wake_later(void *arg)
{
    struct waker *w = arg;
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    w->sent_at = now_ms();
    pssh_loop_wakeup(w->loop);
    return NULL;
}

/* pssh_loop_wakeup from another thread ends a run_once blocked in this
 * one: not before the wakeup, and promptly after it. */
Test(loop, wakeup_from_another_thread)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    struct waker w = {loop, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, wake_later, &w), 0);
    cr_assert_eq(pssh_loop_run_once(loop, 5000), PSSH_OK);
    double back = now_ms();
    pthread_join(t, NULL);
    cr_assert(w.sent_at > 0 && back >= w.sent_at, "run_once returned before the wakeup");
    cr_assert(back - w.sent_at < within(500), "run_once returned %.0f ms after the wakeup", back - w.sent_at);
    pssh_loop_unref(loop);
}

/* A caller's own poll loop drives libpssh: it waits on pssh_loop_fd (at
 * most pssh_loop_timeout_ms), then runs what is ready without waiting. */
Test(loop, driven_by_a_callers_loop)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_client *c = fleet_client(loop, 1);
    pssh_output *o = fleet_run(c, "sleep 0.3; echo polled", NULL);
    const char *line;
    size_t len;
    pssh_err rc;
    int turns = 0, readable = 0;
    while ((rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 0)) == PSSH_E_AGAIN && turns++ < 100) {
        int t = pssh_loop_timeout_ms(loop);
        struct pollfd p = {pssh_loop_fd(loop), POLLIN, 0};
        int n = poll(&p, 1, t < 0 || t > 1000 ? 1000 : t);
        cr_assert(n >= 0);
        readable += n > 0;
        cr_assert_eq(pssh_loop_run_once(loop, 0), PSSH_OK);
    }
    cr_assert_eq(rc, PSSH_OK, "%s", pssh_err_name(rc));
    cr_assert_arr_eq(line, "polled", 6);
    cr_assert(readable > 0, "the loop's fd never became readable in %d turns", turns);
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

/* ---- config: compression, timeouts through exec, keepalive ---- */

/* Compression is asked for only when set, and then agreed on (the fleet's
 * sshd allows it after authentication); output stays exact either way. */
Test(connect, compression_when_asked)
{
    for (int on = 0; on <= 1; on++) {
        pssh_config *cfg = fleet_config();
        cr_assert_eq(pssh_config_set_compression(cfg, on), PSSH_OK);
        pssh_client *c = NULL;
        cr_assert_eq(pssh_client_new(NULL, fleet_host(1), cfg, &c), PSSH_OK);
        pssh_config_free(cfg);
        pssh_output *o = fleet_run(c, "seq 1 100000", NULL);
        const char *cs = libssh2_session_methods(pssh_client_session(c), LIBSSH2_METHOD_COMP_CS);
        const char *sc = libssh2_session_methods(pssh_client_session(c), LIBSSH2_METHOD_COMP_SC);
        cr_assert(cs && sc, "no compression method negotiated");
        if (on)
            cr_assert(strstr(cs, "zlib") && strstr(sc, "zlib"), "asked for compression, got %s/%s", cs, sc);
        else
            cr_assert(!strcmp(cs, "none") && !strcmp(sc, "none"), "not asked for, got %s/%s", cs, sc);
        size_t n;
        char *out = read_all(o, PSSH_STDOUT, &n);
        cr_assert_eq(n, 588895, "seq 1 100000 is 588895 bytes, got %zu", n);
        cr_assert(!strncmp(out, "1\n2\n", 4) && !strcmp(out + n - 7, "100000\n"));
        free(out);
        pssh_output_unref(o);
        pssh_client_unref(c);
    }
}

/* Sends sig to pid after ms, from a child process (the test's own thread
 * is inside a blocking call meanwhile). */
static pid_t signal_later(pid_t pid, int sig, int ms)
{
    pid_t helper = fork();
    cr_assert(helper >= 0);
    if (helper == 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, sig);
        _exit(0);
    }
    return helper;
}

/* The config timeout bounds opening a channel through exec: a server that
 * stops answering after authentication fails the command in time. */
Test(connect, config_timeout_covers_channel_open_and_exec)
{
    pssh_config *cfg = fleet_config();
    const int timeout = (int)within(3000);
    pssh_config_set_timeout(cfg, timeout);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, fleet_host(1), cfg, &c), PSSH_OK);
    pssh_config_free(cfg);
    pid_t server = (pid_t)fleet_server_pid(c);
    cr_assert_eq(kill(server, SIGSTOP), 0);
    pssh_output *o = NULL;
    double t0 = now_ms();
    pssh_err rc = pssh_client_run_command(c, "echo never", NULL, &o);
    double dt = now_ms() - t0;
    kill(server, SIGCONT);
    cr_assert_eq(rc, PSSH_E_TIMEOUT, "%s: %s", pssh_err_name(rc), pssh_client_error_message(c));
    cr_assert_null(o);
    cr_assert(dt >= timeout - 10 && dt < timeout + within(2000), "gave up after %.0f ms", dt);
    pssh_client_unref(c);
}

/* Config timeout 0 is no limit: a server that pauses for 1.5 s after
 * authentication still runs the command. */
Test(connect, config_timeout_zero_is_no_limit)
{
    pssh_config *cfg = fleet_config();
    pssh_config_set_timeout(cfg, 0);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, fleet_host(1), cfg, &c), PSSH_OK);
    pssh_config_free(cfg);
    pid_t server = (pid_t)fleet_server_pid(c);
    cr_assert_eq(kill(server, SIGSTOP), 0);
    pid_t helper = signal_later(server, SIGCONT, 1500);
    pssh_output *o = NULL;
    double t0 = now_ms();
    pssh_err rc = pssh_client_run_command(c, "echo late", NULL, &o);
    double dt = now_ms() - t0;
    kill(server, SIGCONT);
    waitpid(helper, NULL, 0);
    cr_assert_eq(rc, PSSH_OK, "%s: %s", pssh_err_name(rc), pssh_client_error_message(c));
    cr_assert(dt >= 1400, "the server was paused, yet the command ran after %.0f ms", dt);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "late\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* Kills every descendant of pid (not pid itself). */
static int kill_descendants(pid_t pid)
{
    pid_t set[256] = {pid};
    int n = 1, grew = 1;
    while (grew && n < 256) {
        grew = 0;
        DIR *d = opendir("/proc");
        cr_assert_not_null(d);
        struct dirent *e;
        while ((e = readdir(d)) && n < 256) {
            char path[300], stat[512];
            snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            size_t len = fread(stat, 1, sizeof stat - 1, f);
            fclose(f);
            stat[len] = 0;
            char *close_paren = strrchr(stat, ')');
            int ppid = 0;
            pid_t self = (pid_t)atoi(e->d_name);
            if (!close_paren || sscanf(close_paren + 2, "%*c %d", &ppid) != 1)
                continue;
            int known = 0, parent_known = 0;
            for (int i = 0; i < n; i++) {
                known |= set[i] == self;
                parent_known |= set[i] == ppid;
            }
            if (parent_known && !known) {
                set[n++] = self;
                grew = 1;
            }
        }
        closedir(d);
    }
    for (int i = 1; i < n; i++)
        kill(set[i], SIGKILL);
    return n - 1;
}

/* The config timeout bounds authentication: this sshd takes three times
 * the timeout to look a key up (AuthorizedKeysCommand sleeps). */
Test(connect, config_timeout_covers_authentication)
{
    const int timeout = within(2000) < 15000 ? (int)within(2000) : 15000;
    char lines[256];
    snprintf(lines, sizeof lines, "AuthorizedKeysCommand /usr/bin/sleep %d\nAuthorizedKeysCommandUser nobody",
             3 * timeout / 1000);
    extra_sshd s = extra_sshd_start(NULL, lines);
    pssh_config *cfg = fleet_config();
    pssh_config_set_known_hosts(cfg, extra_sshd_known_hosts(&s, fleet_path("host_ed25519.pub")));
    pssh_config_set_pkey_file(cfg, fleet_path("id_wrong"), NULL); /* not in authorized_keys: the command runs */
    pssh_config_set_timeout(cfg, timeout);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, extra_sshd_host(&s), cfg, &c), PSSH_OK);
    pssh_config_free(cfg);
    double t0 = now_ms();
    pssh_err rc = pssh_client_connect(c);
    double dt = now_ms() - t0;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", pssh_client_error_message(c));
    pssh_client_unref(c);
    kill_descendants(s.pid); /* the sleeping lookup too */
    extra_sshd_stop(&s);
    cr_assert_eq(rc, PSSH_E_TIMEOUT, "%s: %s", pssh_err_name(rc), msg);
    cr_assert(strstr(msg, "authenticating") != NULL, "%s", msg);
    cr_assert(dt >= timeout - 10 && dt < 3 * timeout - 100, "gave up after %.0f ms", dt);
}

/* A keepalive never keeps the loop running: run(-1) returns with an idle
 * connected client whose keepalive is armed, and the connection stays. */
Test(connect, keepalive_does_not_keep_the_loop_running)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_config *cfg = fleet_config();
    cr_assert_eq(pssh_config_set_keepalive(cfg, 1), PSSH_OK);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(loop, fleet_host(1), cfg, &c), PSSH_OK);
    pssh_config_free(cfg);
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    cr_assert_eq(pssh_loop_run(loop, -1), PSSH_OK);
    /* Keepalives go out while the caller runs the loop, and harm nothing. */
    double t0 = now_ms();
    while (now_ms() - t0 < 2500)
        cr_assert_eq(pssh_loop_run_once(loop, 500), PSSH_OK);
    cr_assert_not_null(pssh_client_session(c), "the idle connection was dropped");
    cr_assert_eq(pssh_loop_run(loop, -1), PSSH_OK);
    pssh_output *o = fleet_run(c, "echo alive", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "alive\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_loop_unref(loop);
}

/* A keepalive that fails marks the connection lost. Right after
 * authentication sshd sends an unsolicited message (its host keys), so an
 * idle client stops watching its socket until it is used again: when the
 * server then dies, only the keepalive's failing send can tell. The next
 * command gets a new connection. */
Test(connect, failed_keepalive_marks_the_connection_lost)
{
    extra_sshd s = extra_sshd_start(NULL, NULL);
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_config *cfg = fleet_config();
    pssh_config_set_known_hosts(cfg, extra_sshd_known_hosts(&s, fleet_path("host_ed25519.pub")));
    cr_assert_eq(pssh_config_set_keepalive(cfg, 1), PSSH_OK);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(loop, extra_sshd_host(&s), cfg, &c), PSSH_OK);
    pssh_config_free(cfg);
    cr_assert_eq(pssh_client_connect(c), PSSH_OK, "%s", pssh_client_error_message(c));
    double t0 = now_ms();
    while (now_ms() - t0 < 300) /* the host keys message arrives */
        cr_assert_eq(pssh_loop_run_once(loop, 100), PSSH_OK);
    cr_assert(kill_descendants(s.pid) > 0, "no session process under sshd %d", s.pid);
    t0 = now_ms();
    while (pssh_client_session(c) && now_ms() - t0 < within(10000))
        cr_assert_eq(pssh_loop_run_once(loop, 200), PSSH_OK);
    double dt = now_ms() - t0;
    cr_assert_null(pssh_client_session(c), "still connected %.0f ms after the server died", dt);
    pssh_output *o = fleet_run(c, "echo again", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "again\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_loop_unref(loop);
    extra_sshd_stop(&s);
}

/* ---- host strings and host files ---- */

Test(connect, host_check)
{
    const char *good[] = {"host", "user@host:22", "[::1]:2222", "::1", "10.0.0.1:65535", "a-b_c.d"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char why[128] = "untouched";
        cr_assert_eq(pssh_host_check(good[i], why, sizeof why), PSSH_OK, "'%s': %s", good[i], why);
        cr_assert_str_eq(why, "", "'%s'", good[i]);
        cr_assert_eq(pssh_host_check(good[i], NULL, 0), PSSH_OK);
    }
    const char *bad[] = {"", "host:0", "host:65536", "host:x", "[::1", "a b", "@host", "ho/st", "[]:22"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[128] = "";
        cr_assert_eq(pssh_host_check(bad[i], why, sizeof why), PSSH_E_HOST_ARG, "'%s'", bad[i]);
        cr_assert(strlen(why) > 0, "'%s' has no reason", bad[i]);
        cr_assert_eq(pssh_host_check(bad[i], NULL, 0), PSSH_E_HOST_ARG);
        char tiny[4] = "xxx"; /* truncated, still terminated */
        cr_assert_eq(pssh_host_check(bad[i], tiny, sizeof tiny), PSSH_E_HOST_ARG);
        cr_assert(strlen(tiny) < sizeof tiny);
    }
    cr_assert_eq(pssh_host_check(NULL, NULL, 0), PSSH_E_INVAL);
}

struct collected {
    char text[1024];
    int calls;
    int stop_after;
};
static int collect_host(const char *host, unsigned line, void *ud)
{
    struct collected *c = ud;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof c->text - used, "%s@%u;", host, line);
    return ++c->calls == c->stop_after;
}

static pssh_err read_hosts(const char *path, struct collected *c, char *why, size_t cap)
{
    int stop = c->stop_after;
    memset(c, 0, sizeof *c);
    c->stop_after = stop;
    return pssh_hosts_read_file(path, collect_host, c, why, cap);
}

/* Host files: CRLF endings, comments (whole line, after a host, with or
 * without a blank before), blanks trimmed, line numbers counted. */
Test(connect, host_files)
{
    const char *path = fleet_write_file("hosts_crlf", "  web1  \r\n"
                                                      "# a comment\r\n"
                                                      "\r\n"
                                                      "web2:2222 # trailing\r\n"
                                                      "user@[::1]:22#no blank\n"
                                                      "\tdb \t\n"
                                                      "last-without-newline");
    struct collected c = {0};
    char why[512] = "";
    cr_assert_eq(read_hosts(path, &c, why, sizeof why), PSSH_OK, "%s", why);
    cr_assert_str_eq(c.text, "web1@1;web2:2222@4;user@[::1]:22@5;db@6;last-without-newline@7;");
    /* A callback that returns non-zero stops the reading. */
    c.stop_after = 2;
    cr_assert_eq(read_hosts(path, &c, why, sizeof why), PSSH_E_INVAL);
    cr_assert_eq(c.calls, 2);
    c.stop_after = 0;
    /* A malformed host stops it too, naming file and line. */
    path = fleet_write_file("hosts_bad", "good\nbad host\nnever-read\n");
    cr_assert_eq(read_hosts(path, &c, why, sizeof why), PSSH_E_HOST_ARG);
    cr_assert_str_eq(c.text, "good@1;");
    char want[512];
    snprintf(want, sizeof want, "%s:2:", path);
    cr_assert(strstr(why, want) == why, "%s", why);
    /* Unreadable: missing, a directory. */
    cr_assert_eq(read_hosts("/nonexistent/hosts", &c, why, sizeof why), PSSH_E_IO);
    cr_assert(strstr(why, "/nonexistent/hosts") && strstr(why, "No such file"), "%s", why);
    cr_assert_eq(read_hosts("/tmp", &c, why, sizeof why), PSSH_E_IO, "%s", why);
    cr_assert_eq(c.calls, 0);
    cr_assert_eq(pssh_hosts_read_file(NULL, collect_host, &c, NULL, 0), PSSH_E_INVAL);
    cr_assert_eq(pssh_hosts_read_file(path, NULL, NULL, NULL, 0), PSSH_E_INVAL);
}

/* "-" reads the hosts from stdin. */
Test(connect, host_file_from_stdin)
{
    const char *path = fleet_write_file("hosts_stdin", "a\n# c\nb:22\n");
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(dup2(fd, 0), 0);
    close(fd);
    struct collected c = {0};
    char why[256] = "";
    cr_assert_eq(read_hosts("-", &c, why, sizeof why), PSSH_OK, "%s", why);
    cr_assert_str_eq(c.text, "a@1;b:22@3;");
}
