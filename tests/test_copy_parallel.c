/* Transfers on many hosts at once (20): the same per-host outputs as
 * commands (join, finished, errors, exit callbacks, timings), per-host
 * paths, per-host suffixes, and failing hosts beside healthy ones. 20
 * hosts (the fleet has 24). */
#include "fixtures/badserver.h"
#include "fixtures/faultproxy.h"
#include "fixtures/fleet.h"
#include "fixtures/mounts.h"
#include "fixtures/sshd.h"
#include "fixtures/xfer_files.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 20

TestSuite(copy_parallel, .timeout = 300);

static const char *hosts[N];
static char host_buf[N][64];

static pssh_parallel *fleet_parallel(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(host_buf[i], sizeof host_buf[i], "%s", fleet_host((int)i + 1));
        hosts[i] = host_buf[i];
    }
    pssh_config *cfg = fleet_config();
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, n, cfg, NULL, &p), PSSH_OK);
    pssh_config_free(cfg);
    pssh_parallel_set_stop_on_errors(p, 0);
    return p;
}

static void join_all(pssh_parallel *p)
{
    size_t left = 0;
    pssh_err rc = pssh_parallel_join(p, (int)within(120000), 0, &left);
    cr_assert_eq(rc, PSSH_OK, "join: %s, %zu unfinished", pssh_err_name(rc), left);
    cr_assert(pssh_parallel_finished(p));
}

static void assert_all_ok(pssh_output **outs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert(pssh_output_finished(outs[i]));
        cr_assert_eq(pssh_output_error(outs[i]), PSSH_OK, "host %zu: %s", i, pssh_output_error_message(outs[i]));
        cr_assert_eq(pssh_output_exit_code(outs[i]), 0);
    }
}

static void unref_all(pssh_output **outs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pssh_output_unref(outs[i]);
}

/* A file to every host (a path per host; host i gets the empty, the
 * 1-byte or the 1 MiB file, in turn), then back from every host with
 * per-host paths, and once more with the default suffix: every copy
 * byte-identical. */
static void files_round_trip(int scp)
{
    const char *dir = xf_dir(scp ? "pscp" : "psftp");
    static const size_t sizes[3] = {0, 1, 1 << 20};
    static char src[3][4096], remote[N][4096], back[N][4096];
    for (int k = 0; k < 3; k++) {
        snprintf(src[k], sizeof src[k], "%s/src%d.bin", dir, k);
        xf_make_file(src[k], sizes[k], (unsigned)k + 3);
    }
    pssh_copy_arg args[N];
    for (int i = 0; i < N; i++) {
        snprintf(remote[i], sizeof remote[i], "%s/host%d/in/dst.bin", dir, i);
        snprintf(back[i], sizeof back[i], "%s/back%d.bin", dir, i);
        args[i].local = src[i % 3];
        args[i].remote = remote[i];
    }
    pssh_parallel *p = fleet_parallel(N);
    pssh_output *outs[N];
    pssh_err rc = scp ? pssh_parallel_scp_send(p, NULL, NULL, args, N, NULL, outs)
                      : pssh_parallel_copy_file(p, NULL, NULL, args, N, NULL, outs);
    cr_assert_eq(rc, PSSH_OK, "%s", pssh_parallel_error_message(p));
    join_all(p);
    assert_all_ok(outs, N);
    unref_all(outs, N);
    for (int i = 0; i < N; i++)
        cr_assert(xf_same_file(remote[i], src[i % 3]), "host %d", i);
    for (int i = 0; i < N; i++) {
        args[i].local = back[i];
        args[i].remote = remote[i];
    }
    rc = scp ? pssh_parallel_scp_recv(p, NULL, NULL, NULL, args, N, NULL, outs)
             : pssh_parallel_copy_remote_file(p, NULL, NULL, NULL, args, N, NULL, outs);
    cr_assert_eq(rc, PSSH_OK, "%s", pssh_parallel_error_message(p));
    join_all(p);
    assert_all_ok(outs, N);
    unref_all(outs, N);
    for (int i = 0; i < N; i++)
        cr_assert(xf_same_file(back[i], src[i % 3]), "%s", back[i]);
    /* The same remote file from every host (they share this machine: host
     * 2's copy, 1 MiB), each written to suffixed.bin_HOST. */
    char local[4096];
    snprintf(local, sizeof local, "%s/suffixed.bin", dir);
    rc = scp ? pssh_parallel_scp_recv(p, remote[2], local, NULL, NULL, 0, NULL, outs)
             : pssh_parallel_copy_remote_file(p, remote[2], local, NULL, NULL, 0, NULL, outs);
    cr_assert_eq(rc, PSSH_OK, "%s", pssh_parallel_error_message(p));
    join_all(p);
    assert_all_ok(outs, N);
    unref_all(outs, N);
    for (int i = 0; i < N; i++) {
        char got[4200];
        snprintf(got, sizeof got, "%s_%s", local, hosts[i]);
        cr_assert(xf_same_file(got, src[2]), "%s", got);
    }
    pssh_parallel_unref(p);
}

Test(copy_parallel, sftp_files) { files_round_trip(0); }
Test(copy_parallel, scp_files) { files_round_trip(1); }

/* A tree to every host and back, modes kept; a custom separator. */
static void tree_round_trip(int scp)
{
    const char *dir = xf_dir(scp ? "ptree-scp" : "ptree");
    xf_make_tree(dir, 1);
    char src[4096], back[4096];
    snprintf(src, sizeof src, "%s/tree", dir);
    snprintf(back, sizeof back, "%s/back", dir);
    static char remote[N][4096];
    pssh_copy_arg args[N];
    for (int i = 0; i < N; i++) {
        snprintf(remote[i], sizeof remote[i], "%s/host%d/tree", dir, i);
        args[i].local = src;
        args[i].remote = remote[i];
    }
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.recurse = 1;
    o.preserve = 1;
    pssh_parallel *p = fleet_parallel(N);
    pssh_output *outs[N];
    pssh_err rc = scp ? pssh_parallel_scp_send(p, NULL, NULL, args, N, &o, outs)
                      : pssh_parallel_copy_file(p, NULL, NULL, args, N, &o, outs);
    cr_assert_eq(rc, PSSH_OK, "%s", pssh_parallel_error_message(p));
    join_all(p);
    assert_all_ok(outs, N);
    unref_all(outs, N);
    for (int i = 0; i < N; i++) {
        const char *d = xf_tree_diff(src, remote[i], 1);
        cr_assert_null(d, "host %d: %s", i, d);
    }
    rc = scp ? pssh_parallel_scp_recv(p, remote[0], back, ".", NULL, 0, &o, outs)
             : pssh_parallel_copy_remote_file(p, remote[0], back, ".", NULL, 0, &o, outs);
    cr_assert_eq(rc, PSSH_OK, "%s", pssh_parallel_error_message(p));
    join_all(p);
    assert_all_ok(outs, N);
    unref_all(outs, N);
    for (int i = 0; i < N; i++) {
        char got[4200];
        snprintf(got, sizeof got, "%s.%s", back, hosts[i]);
        const char *d = xf_tree_diff(src, got, 1);
        cr_assert_null(d, "%s", d);
    }
    pssh_parallel_unref(p);
}

Test(copy_parallel, sftp_tree) { tree_round_trip(0); }
Test(copy_parallel, scp_tree) { tree_round_trip(1); }

/* copy_args of the wrong length: PSSH_E_HOST_ARG before anything connects
 * (the hosts here could not connect anyway: nothing would be quick). */
Test(copy_parallel, copy_args_wrong_length)
{
    const char *h[3] = {"192.0.2.1", "192.0.2.2", "192.0.2.3"};
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, h, 3, NULL, NULL, &p), PSSH_OK);
    pssh_copy_arg args[2] = {{"/etc/hostname", "/tmp/x"}, {"/etc/hostname", "/tmp/y"}};
    pssh_output *outs[3] = {NULL, NULL, NULL};
    double t0 = now_ms();
    cr_assert_eq(pssh_parallel_copy_file(p, NULL, NULL, args, 2, NULL, outs), PSSH_E_HOST_ARG);
    cr_assert_eq(pssh_parallel_scp_recv(p, NULL, NULL, NULL, args, 2, NULL, outs), PSSH_E_HOST_ARG);
    cr_assert(now_ms() - t0 < 1000);
    cr_assert(strstr(pssh_parallel_error_message(p), "2 copy arguments for 3 hosts"));
    cr_assert_null(outs[0]);
    cr_assert_eq(pssh_parallel_copy_file(p, NULL, "/tmp/x", NULL, 0, NULL, outs), PSSH_E_INVAL);
    pssh_parallel_unref(p);
}

/* Failing hosts beside healthy ones, every failure of issue 17 at once:
 * each failing host gets its class and a message naming the host, the path
 * and the cause; the others finish with the right bytes; nothing partial
 * is left under a final name. */
static size_t exits;
static unsigned long long progress_done[8];
static void on_exit_cb(pssh_output *o, size_t host, void *ud)
{
    (void)o, (void)host, (void)ud;
    exits++;
}
/* A host that vanishes mid-put: its proxy is killed once 1 MiB is sent.
 * Not a cut after so many server bytes: a put's server sends only acks and
 * window adjustments, as many as the timing makes (under valgrind all of a
 * 16 MiB SCP put fitted in fewer than 12,000 bytes and the host never
 * vanished). */
static int vanish_pid;
static size_t vanish_host;
static void on_progress(pssh_output *o, size_t host, unsigned long long done, unsigned long long total, void *ud)
{
    (void)o, (void)total, (void)ud;
    cr_assert(host < 8);
    progress_done[host] = done;
    if (host == vanish_host && vanish_pid > 0 && done >= 1u << 20) {
        kill(-vanish_pid, SIGKILL); /* fault_proxy_stop reaps it */
        vanish_pid = 0;
    }
}

static pssh_parallel *parallel_of(const char *const *h, size_t n, pssh_config *cfg)
{
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, h, n, cfg, NULL, &p), PSSH_OK);
    pssh_config_free(cfg);
    pssh_parallel_set_stop_on_errors(p, 0);
    exits = 0;
    memset(progress_done, 0, sizeof progress_done);
    pssh_parallel_set_callbacks(p, NULL, on_exit_cb, NULL);
    return p;
}

static void assert_results(pssh_parallel *p, pssh_output **outs, const char *const *h, size_t n,
                           const pssh_err *want, const char *const *needle)
{
    cr_assert_eq(exits, n);
    for (size_t i = 0; i < n; i++) {
        const char *msg = pssh_output_error_message(outs[i]);
        cr_assert_eq(pssh_output_error(outs[i]), want[i], "host %zu: %s: %s", i,
                     pssh_err_name(pssh_output_error(outs[i])), msg);
        cr_assert_eq(pssh_parallel_host_error(p, i), want[i]);
        if (!want[i])
            continue;
        cr_assert(strstr(msg, h[i]), "names the host: %s", msg);
        cr_assert(!needle[i] || strcasestr(msg, needle[i]), "host %zu: says '%s': %s", i, needle[i], msg);
        cr_assert_eq(pssh_output_exit_code(outs[i]), -1);
    }
}

#define NPUT 7

static void put_failures(int scp)
{
    char dir[2048], src[4096], mnt[3000], locked[3000], cmd[8400], up[64];
    snprintf(dir, sizeof dir, "%s", xf_dir(scp ? "pfail-scp" : "pfail"));
    snprintf(src, sizeof src, "%s/src.bin", dir);
    snprintf(mnt, sizeof mnt, "%s/small", dir);
    snprintf(locked, sizeof locked, "%s/locked", dir);
    xf_make_file(src, 16 << 20, 11);
    mkdir(xf_path(dir, "isdir"), 0755);
    mkdir(locked, 0755);
    mkdir(mnt, 0755);
    /* Root ignores permissions: an immutable directory refuses even root. */
    snprintf(cmd, sizeof cmd, "chattr +i '%s' 2>/dev/null", locked);
    if (system(cmd) != 0)
        cr_skip_test("chattr +i is not available on %s (needs root and ext2/3/4 or similar)", dir);
    /* A full disk: a 256 KiB tmpfs in this test's own mount namespace,
     * served by a sshd started inside it. */
    if (private_mounts() != 0)
        cr_skip_test("cannot make a private mount namespace: %s: needs root", strerror(errno));
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") != 0)
        cr_skip_test("cannot mount a tmpfs: %s", strerror(errno));
    extra_sshd full = extra_sshd_start(NULL, NULL);
    snprintf(up, sizeof up, "127.0.0.1:%d", fleet_port());
    fault_proxy fp = fault_proxy_start(up, FP_PASS, 0);
    const char *h[NPUT];
    char hb[NPUT][64];
    for (int i = 0; i < NPUT; i++) {
        snprintf(hb[i], sizeof hb[i], "%s",
                 i == 2 ? fault_proxy_host(&fp) : i == 6 ? extra_sshd_host(&full) : fleet_host(i + 1));
        h[i] = hb[i];
    }
    pssh_config *cfg = fleet_config();
    pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    pssh_parallel *p = parallel_of(h, NPUT, cfg);
    static char dst[NPUT][4096];
    for (int i = 0; i < NPUT; i++)
        snprintf(dst[i], sizeof dst[i], "%s/out%d.bin", dir, i);
    snprintf(dst[3], sizeof dst[3], "%s/isdir", dir);
    snprintf(dst[5], sizeof dst[5], "%s/f.bin", locked);
    snprintf(dst[6], sizeof dst[6], "%s/f.bin", mnt);
    pssh_copy_arg args[NPUT] = {
        {src, dst[0]},
        {xf_path(dir, "missing.bin"), dst[1]}, /* a missing local file */
        {src, dst[2]},                         /* the host vanishes mid-transfer (on_progress) */
        {src, dst[3]},                         /* the remote path is a directory */
        {src, dst[4]},
        {src, dst[5]},                         /* remote permission denied */
        {src, dst[6]},                         /* a full remote disk */
    };
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.progress = on_progress;
    vanish_host = 2;
    vanish_pid = fp.pid;
    pssh_output *outs[NPUT];
    pssh_err rc = scp ? pssh_parallel_scp_send(p, NULL, NULL, args, NPUT, &o, outs)
                      : pssh_parallel_copy_file(p, NULL, NULL, args, NPUT, &o, outs);
    cr_assert_eq(rc, PSSH_OK);
    join_all(p);
    cr_assert_eq(vanish_pid, 0, "host 2 never sent 1 MiB: it did not vanish");
    snprintf(cmd, sizeof cmd, "chattr -i '%s'", locked);
    cr_assert_eq(system(cmd), 0);
    pssh_err cls = scp ? PSSH_E_SCP : PSSH_E_SFTP;
    const pssh_err want[NPUT] = {PSSH_OK, PSSH_E_IO, PSSH_E_LOST, cls, PSSH_OK, cls, cls};
    const char *needle[NPUT] = {NULL, "No such file or directory", NULL, "is a directory", NULL,
                                "permission denied", "no space left"};
    assert_results(p, outs, h, NPUT, want, needle);
    cr_assert(strstr(pssh_output_error_message(outs[1]), "missing.bin"));
    cr_assert(strstr(pssh_output_error_message(outs[3]), "isdir"));
    cr_assert(strstr(pssh_output_error_message(outs[5]), "locked"));
    cr_assert(strstr(pssh_output_error_message(outs[6]), "small"));
    cr_assert(xf_same_file(dst[0], src) && xf_same_file(dst[4], src));
    cr_assert_eq(progress_done[0], 16u << 20);
    cr_assert_eq(progress_done[4], 16u << 20);
    pssh_transfer_stats st = {PSSH_TRANSFER_STATS_VERSION, 0, 0, 0};
    cr_assert_eq(pssh_output_transfer_stats(outs[4], &st), PSSH_OK);
    cr_assert(st.bytes == 16u << 20 && st.total == 16u << 20 && st.transfer_ms > 0);
    for (int i = 1; i < NPUT; i++)
        if (i != 3 && i != 4)
            cr_assert(!xf_exists(dst[i]), "no partial file under a final name: %s", dst[i]);
    /* The remote temporaries are removed in the background, as the loop
     * runs; only the vanished host's stays (nothing can reach it). */
    pssh_loop_run(pssh_parallel_loop(p), 10000);
    cr_assert_eq(xf_temporaries(mnt) + xf_temporaries(dst[3]), 0);
    cr_assert_leq(xf_temporaries(dir), 1);
    unref_all(outs, NPUT);
    pssh_parallel_unref(p);
    fault_proxy_stop(&fp);
    extra_sshd_stop(&full);
}

Test(copy_parallel, sftp_put_failures_do_not_stop_the_others) { put_failures(0); }
Test(copy_parallel, scp_put_failures_do_not_stop_the_others) { put_failures(1); }

/* Gets from many hosts, some failing: a missing remote file, a host that
 * vanishes mid-transfer (the proxy cuts the server's stream after 2 MB), a
 * remote directory without recurse. */
#define NGET 5

static void get_failures(int scp)
{
    char dir[2048], src[4096], up[64];
    snprintf(dir, sizeof dir, "%s", xf_dir(scp ? "pgetfail-scp" : "pgetfail"));
    snprintf(src, sizeof src, "%s/src.bin", dir);
    xf_make_file(src, 16 << 20, 13);
    mkdir(xf_path(dir, "adir"), 0755);
    mkdir(xf_path(dir, "local"), 0755);
    snprintf(up, sizeof up, "127.0.0.1:%d", fleet_port());
    fault_proxy fp = fault_proxy_start(up, FP_CUT_AFTER, 2 << 20);
    const char *h[NGET];
    char hb[NGET][64];
    for (int i = 0; i < NGET; i++) {
        snprintf(hb[i], sizeof hb[i], "%s", i == 2 ? fault_proxy_host(&fp) : fleet_host(i + 1));
        h[i] = hb[i];
    }
    pssh_config *cfg = fleet_config();
    pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    pssh_parallel *p = parallel_of(h, NGET, cfg);
    static char dst[NGET][4096], missing[4096], adir[4096];
    for (int i = 0; i < NGET; i++)
        snprintf(dst[i], sizeof dst[i], "%s/local/out%d.bin", dir, i);
    snprintf(missing, sizeof missing, "%s/missing.bin", dir);
    snprintf(adir, sizeof adir, "%s/adir", dir);
    pssh_copy_arg args[NGET] = {{dst[0], src}, {dst[1], missing}, {dst[2], src}, {dst[3], adir}, {dst[4], src}};
    pssh_output *outs[NGET];
    pssh_err rc = scp ? pssh_parallel_scp_recv(p, NULL, NULL, NULL, args, NGET, NULL, outs)
                      : pssh_parallel_copy_remote_file(p, NULL, NULL, NULL, args, NGET, NULL, outs);
    cr_assert_eq(rc, PSSH_OK);
    join_all(p);
    pssh_err cls = scp ? PSSH_E_SCP : PSSH_E_SFTP;
    const pssh_err want[NGET] = {PSSH_OK, cls, PSSH_E_LOST, cls, PSSH_OK};
    const char *needle[NGET] = {NULL, "no such file or directory", NULL, "is a directory", NULL};
    assert_results(p, outs, h, NGET, want, needle);
    cr_assert(strstr(pssh_output_error_message(outs[1]), "missing.bin"));
    cr_assert(strstr(pssh_output_error_message(outs[3]), "adir"));
    cr_assert(xf_same_file(dst[0], src) && xf_same_file(dst[4], src));
    for (int i = 1; i < 4; i++)
        cr_assert(!xf_exists(dst[i]), "no partial file under a final name: %s", dst[i]);
    cr_assert_eq(xf_temporaries(xf_path(dir, "local")), 0, "the local temporaries are removed");
    unref_all(outs, NGET);
    pssh_parallel_unref(p);
    fault_proxy_stop(&fp);
}

Test(copy_parallel, sftp_get_failures_do_not_stop_the_others) { get_failures(0); }
Test(copy_parallel, scp_get_failures_do_not_stop_the_others) { get_failures(1); }

/* The command API's timeouts bound a parallel transfer: the per-attempt
 * connect timeout (4 s; a server that sends its banner, then nothing) and the
 * transfer's own (3 s; a host whose stream stalls after 2 MB of a 20 MiB
 * get); both are PSSH_E_TIMEOUT for that host only. */
static void timeouts(int scp)
{
    char dir[2048], big[4096], small[4096], up[64];
    snprintf(dir, sizeof dir, "%s", xf_dir(scp ? "ptimeout-scp" : "ptimeout"));
    snprintf(big, sizeof big, "%s/big.bin", dir);
    snprintf(small, sizeof small, "%s/small.bin", dir);
    xf_make_file(big, 20 << 20, 14);
    xf_make_file(small, 65536, 15);
    snprintf(up, sizeof up, "127.0.0.1:%d", fleet_port());
    fault_proxy fp = fault_proxy_start(up, FP_STALL_AFTER, 2 << 20);
    bad_server mute = bad_server_start(BAD_BANNER_SILENT);
    char hb[4][64];
    snprintf(hb[0], sizeof hb[0], "%s", fleet_host(1));
    snprintf(hb[1], sizeof hb[1], "%s", fault_proxy_host(&fp));
    snprintf(hb[2], sizeof hb[2], "%s", bad_server_host(&mute));
    snprintf(hb[3], sizeof hb[3], "%s", fleet_host(2));
    const char *h[4] = {hb[0], hb[1], hb[2], hb[3]};
    pssh_config *cfg = fleet_config();
    pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    /* Long enough for a handshake on a loaded machine (1 s was not: the
     * stalling host then failed in its handshake, not in its transfer). */
    pssh_config_set_timeout(cfg, 4000);
    pssh_config_set_retries(cfg, 0, 0);
    pssh_parallel *p = parallel_of(h, 4, cfg);
    static char dst[4][4096];
    for (int i = 0; i < 4; i++)
        snprintf(dst[i], sizeof dst[i], "%s/out%d.bin", dir, i);
    pssh_copy_arg args[4] = {{dst[0], small}, {dst[1], big}, {dst[2], small}, {dst[3], small}};
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.timeout_ms = 3000;
    pssh_output *outs[4];
    double t0 = now_ms();
    pssh_err rc = scp ? pssh_parallel_scp_recv(p, NULL, NULL, NULL, args, 4, &o, outs)
                      : pssh_parallel_copy_remote_file(p, NULL, NULL, NULL, args, 4, &o, outs);
    cr_assert_eq(rc, PSSH_OK);
    join_all(p);
    double took = now_ms() - t0;
    const pssh_err want[4] = {PSSH_OK, PSSH_E_TIMEOUT, PSSH_E_TIMEOUT, PSSH_OK};
    const char *needle[4] = {NULL, scp ? "scp: timeout" : "sftp: timeout", "handshake", NULL};
    assert_results(p, outs, h, 4, want, needle);
    cr_assert(took >= 4000 && took < within(20000), "%.0f ms", took);
    cr_assert(xf_same_file(dst[0], small) && xf_same_file(dst[3], small));
    cr_assert(!xf_exists(dst[1]) && !xf_exists(dst[2]), "no partial file under a final name");
    cr_assert_eq(xf_temporaries(dir), 0, "the local temporary is removed");
    unref_all(outs, 4);
    pssh_parallel_unref(p);
    bad_server_stop(&mute);
    fault_proxy_stop(&fp);
}

Test(copy_parallel, sftp_timeouts) { timeouts(0); }
Test(copy_parallel, scp_timeouts) { timeouts(1); }

/* 100 MiB to 20 hosts and back, byte for byte (its own suite, `big`: 2 GiB
 * each way per protocol is too much for the fast set on a shared 2-core
 * machine). */
TestSuite(copy_parallel_big, .timeout = 900);

static void big_round_trip(int scp)
{
    char dir[2048], src[4096];
    snprintf(dir, sizeof dir, "%s", xf_dir(scp ? "pbig-scp" : "pbig"));
    snprintf(src, sizeof src, "%s/src.bin", dir);
    xf_make_file(src, 100u << 20, 16);
    static char remote[N][4096], back[N][4096];
    pssh_copy_arg args[N];
    for (int i = 0; i < N; i++) {
        snprintf(remote[i], sizeof remote[i], "%s/host%d/dst.bin", dir, i);
        snprintf(back[i], sizeof back[i], "%s/back%d.bin", dir, i);
        args[i].local = src;
        args[i].remote = remote[i];
    }
    pssh_parallel *p = fleet_parallel(N);
    pssh_output *outs[N];
    pssh_err rc = scp ? pssh_parallel_scp_send(p, NULL, NULL, args, N, NULL, outs)
                      : pssh_parallel_copy_file(p, NULL, NULL, args, N, NULL, outs);
    cr_assert_eq(rc, PSSH_OK, "%s", pssh_parallel_error_message(p));
    size_t left = 0;
    cr_assert_eq(pssh_parallel_join(p, (int)within(600000), 0, &left), PSSH_OK, "%zu unfinished", left);
    assert_all_ok(outs, N);
    unref_all(outs, N);
    for (int i = 0; i < N; i++) {
        cr_assert(xf_same_file(remote[i], src), "put to host %d", i);
        args[i].local = back[i];
    }
    rc = scp ? pssh_parallel_scp_recv(p, NULL, NULL, NULL, args, N, NULL, outs)
             : pssh_parallel_copy_remote_file(p, NULL, NULL, NULL, args, N, NULL, outs);
    cr_assert_eq(rc, PSSH_OK, "%s", pssh_parallel_error_message(p));
    cr_assert_eq(pssh_parallel_join(p, (int)within(600000), 0, &left), PSSH_OK, "%zu unfinished", left);
    assert_all_ok(outs, N);
    unref_all(outs, N);
    for (int i = 0; i < N; i++) {
        cr_assert(xf_same_file(back[i], src), "get from host %d", i);
        unlink(remote[i]);
        unlink(back[i]);
    }
    pssh_parallel_unref(p);
}

Test(copy_parallel_big, sftp_100_mib) { big_round_trip(0); }
Test(copy_parallel_big, scp_100_mib) { big_round_trip(1); }
