/* Transfers on many hosts at once (20): the same per-host outputs as
 * commands (join, finished, errors, exit callbacks, timings), per-host
 * paths, per-host suffixes, and failing hosts beside healthy ones. 20
 * hosts (the fleet has 24). */
#include "fixtures/faultproxy.h"
#include "fixtures/fleet.h"
#include "fixtures/xfer_files.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Failing hosts beside healthy ones: each failure has its class and
 * message, the others finish and their files are right. */
static size_t exits;
static unsigned long long progress_done[8];
static void on_exit_cb(pssh_output *o, size_t host, void *ud)
{
    (void)o, (void)host, (void)ud;
    exits++;
}
static void on_progress(pssh_output *o, size_t host, unsigned long long done, unsigned long long total, void *ud)
{
    (void)o, (void)total, (void)ud;
    cr_assert(host < 8);
    progress_done[host] = done;
}

Test(copy_parallel, failures_do_not_stop_the_others)
{
    const char *dir = xf_dir("pfail");
    char src[4096], up[64];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    xf_make_file(src, 16 << 20, 11);
    mkdir(xf_path(dir, "isdir"), 0755);
    snprintf(up, sizeof up, "127.0.0.1:%d", fleet_port());
    /* A put: the server sends little (about 40 KB of acks for 16 MiB), so
     * the cut comes soon after authentication. */
    fault_proxy fp = fault_proxy_start(up, FP_CUT_AFTER, 12000);
    const char *h[5];
    char hb[5][64];
    for (int i = 0; i < 5; i++) {
        snprintf(hb[i], sizeof hb[i], "%s", i == 2 ? fault_proxy_host(&fp) : fleet_host(i + 1));
        h[i] = hb[i];
    }
    pssh_config *cfg = fleet_config();
    pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, h, 5, cfg, NULL, &p), PSSH_OK);
    pssh_config_free(cfg);
    pssh_parallel_set_stop_on_errors(p, 0);
    exits = 0;
    pssh_parallel_set_callbacks(p, NULL, on_exit_cb, NULL);
    static char dst[5][4096];
    for (int i = 0; i < 5; i++)
        snprintf(dst[i], sizeof dst[i], "%s/out%d.bin", dir, i);
    pssh_copy_arg args[5] = {
        {src, dst[0]},
        {xf_path(dir, "missing.bin"), dst[1]}, /* a missing local file */
        {src, dst[2]},                         /* the host vanishes mid-transfer */
        {src, xf_path(dir, "isdir")},          /* the remote path is a directory */
        {src, dst[4]},
    };
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.progress = on_progress;
    pssh_output *outs[5];
    cr_assert_eq(pssh_parallel_copy_file(p, NULL, NULL, args, 5, &o, outs), PSSH_OK);
    join_all(p);
    cr_assert_eq(exits, 5);
    const pssh_err want[5] = {PSSH_OK, PSSH_E_IO, PSSH_E_LOST, PSSH_E_SFTP, PSSH_OK};
    for (int i = 0; i < 5; i++) {
        const char *msg = pssh_output_error_message(outs[i]);
        cr_assert_eq(pssh_output_error(outs[i]), want[i], "host %d: %s: %s", i,
                     pssh_err_name(pssh_output_error(outs[i])), msg);
        cr_assert_eq(pssh_parallel_host_error(p, (size_t)i), want[i]);
        if (want[i]) {
            cr_assert(strstr(msg, h[i]), "names the host: %s", msg);
            cr_assert_eq(pssh_output_exit_code(outs[i]), -1);
        }
    }
    cr_assert(strstr(pssh_output_error_message(outs[1]), "missing.bin"));
    cr_assert(strstr(pssh_output_error_message(outs[3]), "is a directory"));
    cr_assert_str_eq(xf_sha256(dst[0]), xf_sha256(src));
    cr_assert_str_eq(xf_sha256(dst[4]), xf_sha256(src));
    cr_assert(!xf_exists(dst[1]) && !xf_exists(dst[2]), "no partial file under a final name");
    cr_assert_eq(progress_done[0], 16u << 20);
    cr_assert_eq(progress_done[4], 16u << 20);
    unref_all(outs, 5);
    pssh_parallel_unref(p);
    fault_proxy_stop(&fp);
}
