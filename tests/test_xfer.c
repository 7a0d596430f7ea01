/* File transfers on one host, SFTP and SCP, against a real sshd: byte-exact
 * round trips, trees with odd names, and every failure of issue 17 with its
 * class and message, never a partial file under the final name. Public
 * header only. */
#include "fixtures/faultproxy.h"
#include "fixtures/fleet.h"
#include "fixtures/mounts.h"
#include "fixtures/sshd.h"
#include "fixtures/xfer_files.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(xfer, .timeout = 300);

static const char *proto_name(int scp) { return scp ? "scp" : "sftp"; }

static pssh_err put(pssh_client *c, int scp, const char *l, const char *r, const pssh_xfer_opts *o)
{
    return scp ? pssh_client_scp_send(c, l, r, o, NULL) : pssh_client_copy_file(c, l, r, o, NULL);
}

static pssh_err get(pssh_client *c, int scp, const char *r, const char *l, const pssh_xfer_opts *o)
{
    return scp ? pssh_client_scp_recv(c, r, l, o, NULL) : pssh_client_copy_remote_file(c, r, l, o, NULL);
}

static void assert_ok(pssh_client *c, pssh_err rc, const char *what)
{
    cr_assert_eq(rc, PSSH_OK, "%s: %s: %s", what, pssh_err_name(rc), pssh_client_error_message(c));
}

/* Put then get back: both copies byte-identical to the source. */
static void round_trip(int scp, size_t size)
{
    const char *dir = xf_dir(proto_name(scp));
    char src[4096], mid[4096], back[4096];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    snprintf(mid, sizeof mid, "%s/remote/a/b/mid.bin", dir); /* parents made (mkdir -p) */
    snprintf(back, sizeof back, "%s/back.bin", dir);
    xf_make_file(src, size, (unsigned)size + 1);
    pssh_client *c = fleet_client(NULL, 1);
    assert_ok(c, put(c, scp, src, mid, NULL), "put");
    assert_ok(c, get(c, scp, mid, back, NULL), "get");
    char want[80];
    snprintf(want, sizeof want, "%s", xf_sha256(src));
    cr_assert_str_eq(xf_sha256(mid), want, "%s put of %zu bytes", proto_name(scp), size);
    cr_assert_str_eq(xf_sha256(back), want, "%s get of %zu bytes", proto_name(scp), size);
    cr_assert_eq(xf_temporaries(dir), 0);
    pssh_client_unref(c);
}

Test(xfer, sftp_round_trips_small) { round_trip(0, 0), round_trip(0, 1), round_trip(0, 1 << 20); }
Test(xfer, scp_round_trips_small) { round_trip(1, 0), round_trip(1, 1), round_trip(1, 1 << 20); }
Test(xfer, sftp_round_trip_100_mib) { round_trip(0, 100u << 20); }
Test(xfer, scp_round_trip_100_mib) { round_trip(1, 100u << 20); }

/* A tree with nested directories, odd names, modes and a symlink, there
 * and back, with modes kept. */
static void tree_round_trip(int scp, int copy_links)
{
    const char *dir = xf_dir("tree");
    xf_make_tree(dir, 1);
    pssh_client *c = fleet_client(NULL, 2);
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.recurse = 1;
    o.preserve = 1;
    o.copy_links = copy_links;
    char src[4096], mid[4096], back[4096];
    snprintf(src, sizeof src, "%s/tree", dir);
    snprintf(mid, sizeof mid, "%s/remote/tree", dir);
    snprintf(back, sizeof back, "%s/back", dir);
    assert_ok(c, put(c, scp, src, mid, &o), "put tree");
    assert_ok(c, get(c, scp, mid, back, &o), "get tree");
    char want[200];
    snprintf(want, sizeof want, "%s", xf_tree_digest(src, !copy_links));
    cr_assert_str_eq(xf_tree_digest(mid, !copy_links), want, "%s put tree", proto_name(scp));
    cr_assert_str_eq(xf_tree_digest(back, !copy_links), want, "%s get tree", proto_name(scp));
    struct stat st;
    cr_assert_eq(lstat(xf_path(back, "link-to-plain"), &st), 0);
    cr_assert_eq(S_ISLNK(st.st_mode) != 0, copy_links != 0, "links followed unless copied as links");
    pssh_client_unref(c);
}

Test(xfer, sftp_tree_round_trip) { tree_round_trip(0, 0); }
Test(xfer, sftp_tree_round_trip_links_as_links) { tree_round_trip(0, 1); }
Test(xfer, scp_tree_round_trip) { tree_round_trip(1, 0); }
Test(xfer, scp_tree_round_trip_links_as_links) { tree_round_trip(1, 1); }

/* Without preserve: new files 0644, directories 0755 (parallel-ssh); a
 * file got without preserve is 0644 less the umask, like a new file. */
Test(xfer, default_modes)
{
    umask(027);
    char dir[2048];
    snprintf(dir, sizeof dir, "%s", xf_dir("modes"));
    xf_make_tree(dir, 0);
    pssh_client *c = fleet_client(NULL, 1);
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.recurse = 1;
    char mid[4096];
    snprintf(mid, sizeof mid, "%s/remote", dir);
    assert_ok(c, pssh_client_copy_file(c, xf_path(dir, "tree"), mid, &o, NULL), "put");
    struct stat st;
    cr_assert_eq(stat(xf_path(mid, "with space.txt"), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0644);
    cr_assert_eq(stat(xf_path(mid, "sub dir"), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0755);
    assert_ok(c, pssh_client_copy_remote_file(c, xf_path(mid, "with space.txt"), xf_path(dir, "got.txt"), NULL, NULL),
              "get");
    cr_assert_eq(stat(xf_path(dir, "got.txt"), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
    pssh_client_unref(c);
}

/* preserve keeps modes and modification times (scp -p): of a file alone,
 * and of every file and directory of a tree (a directory's time is set once
 * its entries are written, which would change it), there and back; without
 * preserve a copy gets the time of its writing. */
static void preserve_times(int scp)
{
    char dir[2048]; /* xf_dir's buffer is reused by the xf_path calls below */
    snprintf(dir, sizeof dir, "%s", xf_dir(scp ? "times-scp" : "times"));
    xf_make_tree(dir, 0);
    char tree[4096], one[4096];
    snprintf(tree, sizeof tree, "%s/tree", dir);
    snprintf(one, sizeof one, "%s/one.bin", dir);
    xf_make_file(one, 70000, 12);
    chmod(one, 0640);
    xf_age_tree(tree);
    xf_age_tree(one);
    pssh_client *c = fleet_client(NULL, 1);
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.preserve = 1;
    assert_ok(c, put(c, scp, one, xf_path(dir, "r/one.bin"), &o), "put a file");
    assert_ok(c, get(c, scp, xf_path(dir, "r/one.bin"), xf_path(dir, "b/one.bin"), &o), "get a file");
    cr_assert_null(xf_tree_diff_times(one, xf_path(dir, "r/one.bin"), 0), "%s put: %s", proto_name(scp),
                   xf_tree_diff_times(one, xf_path(dir, "r/one.bin"), 0));
    cr_assert_null(xf_tree_diff_times(one, xf_path(dir, "b/one.bin"), 0), "%s get: %s", proto_name(scp),
                   xf_tree_diff_times(one, xf_path(dir, "b/one.bin"), 0));
    o.recurse = 1;
    assert_ok(c, put(c, scp, tree, xf_path(dir, "r/tree"), &o), "put a tree");
    assert_ok(c, get(c, scp, xf_path(dir, "r/tree"), xf_path(dir, "b/tree"), &o), "get a tree");
    const char *d = xf_tree_diff_times(tree, xf_path(dir, "r/tree"), 1);
    cr_assert_null(d, "%s put tree: %s", proto_name(scp), d);
    d = xf_tree_diff_times(tree, xf_path(dir, "b/tree"), 1);
    cr_assert_null(d, "%s get tree: %s", proto_name(scp), d);
    o.preserve = 0;
    o.recurse = 0;
    assert_ok(c, put(c, scp, one, xf_path(dir, "r/plain.bin"), &o), "put without preserve");
    struct stat st;
    cr_assert_eq(stat(xf_path(dir, "r/plain.bin"), &st), 0);
    cr_assert(st.st_mtime > 1500000000, "a new copy has a new time");
    cr_assert_eq(st.st_mode & 07777, 0644);
    pssh_client_unref(c);
}

Test(xfer, sftp_preserve_modes_and_times) { preserve_times(0); }
Test(xfer, scp_preserve_modes_and_times) { preserve_times(1); }

/* A remote path ending in "/" gets the local name; a target that exists is
 * replaced whole. */
Test(xfer, trailing_slash_and_replace)
{
    for (int scp = 0; scp < 2; scp++) {
        const char *dir = xf_dir("slash");
        char src[4096], rdir[4096];
        snprintf(src, sizeof src, "%s/name.bin", dir);
        snprintf(rdir, sizeof rdir, "%s/r/", dir);
        xf_make_file(src, 5000, 1);
        pssh_client *c = fleet_client(NULL, 1);
        assert_ok(c, put(c, scp, src, rdir, NULL), "put to dir/");
        cr_assert_str_eq(xf_sha256(xf_path(dir, "r/name.bin")), xf_sha256(src));
        xf_make_file(src, 7000, 2);
        assert_ok(c, put(c, scp, src, rdir, NULL), "put over it");
        cr_assert_str_eq(xf_sha256(xf_path(dir, "r/name.bin")), xf_sha256(src));
        cr_assert_eq(xf_temporaries(xf_path(dir, "r")), 0);
        pssh_client_unref(c);
    }
}

static void assert_fails(pssh_client *c, pssh_err rc, pssh_err want, const char *needle, const char *path)
{
    const char *msg = pssh_client_error_message(c);
    cr_assert_eq(rc, want, "got %s: %s", pssh_err_name(rc), msg);
    cr_assert(strstr(msg, fleet_host(1)) || strstr(msg, "127.0."), "message names the host: %s", msg);
    cr_assert(strstr(msg, needle), "message says '%s': %s", needle, msg);
    if (path)
        cr_assert(strstr(msg, path), "message names %s: %s", path, msg);
}

Test(xfer, missing_local_file)
{
    for (int scp = 0; scp < 2; scp++) {
        const char *dir = xf_dir("missing");
        pssh_client *c = fleet_client(NULL, 1);
        pssh_err rc = put(c, scp, xf_path(dir, "nope"), xf_path(dir, "dst"), NULL);
        assert_fails(c, rc, PSSH_E_IO, "No such file or directory", "nope");
        cr_assert(!xf_exists(xf_path(dir, "dst")));
        pssh_client_unref(c);
    }
}

Test(xfer, missing_remote_file)
{
    for (int scp = 0; scp < 2; scp++) {
        const char *dir = xf_dir("missing-remote");
        pssh_client *c = fleet_client(NULL, 1);
        pssh_err rc = get(c, scp, xf_path(dir, "nope"), xf_path(dir, "dst"), NULL);
        assert_fails(c, rc, scp ? PSSH_E_SCP : PSSH_E_SFTP, "no such file or directory", "nope");
        cr_assert(!xf_exists(xf_path(dir, "dst")));
        cr_assert_eq(xf_temporaries(dir), 0);
        pssh_client_unref(c);
    }
}

Test(xfer, directory_without_recurse)
{
    for (int scp = 0; scp < 2; scp++) {
        const char *dir = xf_dir("norec");
        xf_make_tree(dir, 0);
        pssh_client *c = fleet_client(NULL, 1);
        pssh_err rc = put(c, scp, xf_path(dir, "tree"), xf_path(dir, "dst"), NULL);
        assert_fails(c, rc, scp ? PSSH_E_SCP : PSSH_E_SFTP, "is a directory", "tree");
        rc = get(c, scp, xf_path(dir, "tree"), xf_path(dir, "dst"), NULL);
        assert_fails(c, rc, scp ? PSSH_E_SCP : PSSH_E_SFTP, "is a directory", "tree");
        cr_assert(!xf_exists(xf_path(dir, "dst")));
        pssh_client_unref(c);
    }
}

Test(xfer, remote_path_is_a_directory)
{
    for (int scp = 0; scp < 2; scp++) {
        const char *dir = xf_dir("isdir");
        char src[4096];
        snprintf(src, sizeof src, "%s/f", dir);
        xf_make_file(src, 1000, 3);
        mkdir(xf_path(dir, "target"), 0755);
        pssh_client *c = fleet_client(NULL, 1);
        pssh_err rc = put(c, scp, src, xf_path(dir, "target"), NULL);
        assert_fails(c, rc, scp ? PSSH_E_SCP : PSSH_E_SFTP, "is a directory", "target");
        cr_assert_eq(xf_temporaries(xf_path(dir, "target")), 0);
        cr_assert_eq(xf_temporaries(dir), 0);
        pssh_client_unref(c);
    }
}

/* Root ignores permissions: an immutable directory refuses even root. */
Test(xfer, remote_permission_denied)
{
    const char *dir = xf_dir("perm");
    char src[4096], locked[4096], cmd[8400];
    snprintf(src, sizeof src, "%s/f", dir);
    snprintf(locked, sizeof locked, "%s/locked", dir);
    xf_make_file(src, 1000, 4);
    mkdir(locked, 0755);
    snprintf(cmd, sizeof cmd, "chattr +i '%s' 2>/dev/null", locked);
    if (system(cmd) != 0)
        cr_skip_test("chattr +i is not available on %s (needs root and ext2/3/4 or similar)", dir);
    for (int scp = 0; scp < 2; scp++) {
        pssh_client *c = fleet_client(NULL, 1);
        pssh_err rc = put(c, scp, src, xf_path(locked, "f"), NULL);
        assert_fails(c, rc, scp ? PSSH_E_SCP : PSSH_E_SFTP, "permission denied", "locked");
        cr_assert(!xf_exists(xf_path(locked, "f")));
        pssh_client_unref(c);
    }
    snprintf(cmd, sizeof cmd, "chattr -i '%s'", locked);
    cr_assert_eq(system(cmd), 0);
}

/* A full remote disk: a 256 KiB tmpfs mounted in this test's own mount
 * namespace, served by a second sshd started inside it. */
Test(xfer, full_remote_disk)
{
    const char *dir = xf_dir("full");
    char mnt[4096], src[4096];
    snprintf(mnt, sizeof mnt, "%s/small", dir);
    snprintf(src, sizeof src, "%s/big.bin", dir);
    mkdir(mnt, 0755);
    if (private_mounts() != 0)
        cr_skip_test("cannot make a private mount namespace: %s: needs root", strerror(errno));
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") != 0)
        cr_skip_test("cannot mount a tmpfs: %s", strerror(errno));
    xf_make_file(src, 2 << 20, 5);
    extra_sshd s = extra_sshd_start(NULL, NULL);
    pssh_config *cfg = fleet_config();
    pssh_config_set_known_hosts(cfg, extra_sshd_known_hosts(&s, fleet_path("host_ed25519.pub")));
    for (int scp = 0; scp < 2; scp++) {
        pssh_client *c = NULL;
        cr_assert_eq(pssh_client_new(NULL, extra_sshd_host(&s), cfg, &c), PSSH_OK);
        pssh_err rc = put(c, scp, src, xf_path(mnt, "big.bin"), NULL);
        const char *msg = pssh_client_error_message(c);
        cr_assert_eq(rc, scp ? PSSH_E_SCP : PSSH_E_SFTP, "%s: %s: %s", proto_name(scp), pssh_err_name(rc), msg);
        cr_assert(strstr(msg, scp ? "No space left on device" : "no space left"), "%s", msg);
        cr_assert(strstr(msg, "big.bin"), "%s", msg);
        cr_assert(!xf_exists(xf_path(mnt, "big.bin")), "no partial file under the final name");
        /* the temporary is removed in the background, as the loop runs */
        pssh_loop_run(pssh_client_loop(c), 10000);
        cr_assert_eq(xf_temporaries(mnt), 0, "the temporary file is removed");
        pssh_client_unref(c);
    }
    pssh_config_free(cfg);
    extra_sshd_stop(&s);
}

/* A client of a fault proxy (host keys unchecked: the proxy's port is
 * known to nobody). */
static pssh_client *proxied_client(fault_proxy *fp, pssh_config *cfg)
{
    pssh_config_set_host_key_policy(cfg, PSSH_HOSTKEY_OFF);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, fault_proxy_host(fp), cfg, &c), PSSH_OK);
    return c;
}

/* A host that vanishes mid-transfer: the proxy cuts the server's stream
 * after 2 MB of a 20 MB get. */
Test(xfer, host_vanishes_mid_transfer)
{
    for (int scp = 0; scp < 2; scp++) {
        const char *dir = xf_dir("vanish");
        char src[4096], dst[4096], up[64];
        snprintf(src, sizeof src, "%s/src.bin", dir);
        snprintf(dst, sizeof dst, "%s/local/dst.bin", dir);
        xf_make_file(src, 20 << 20, 6);
        snprintf(up, sizeof up, "127.0.0.1:%d", fleet_port());
        fault_proxy fp = fault_proxy_start(up, FP_CUT_AFTER, 2 << 20);
        pssh_config *cfg = fleet_config();
        pssh_client *c = proxied_client(&fp, cfg);
        double t0 = now_ms();
        pssh_err rc = get(c, scp, src, dst, NULL);
        cr_assert_eq(rc, PSSH_E_LOST, "%s: %s: %s", proto_name(scp), pssh_err_name(rc), pssh_client_error_message(c));
        cr_assert(now_ms() - t0 < within(20000));
        cr_assert(!xf_exists(dst), "no partial file under the final name");
        cr_assert_eq(xf_temporaries(xf_path(dir, "local")), 0, "the local temporary is removed");
        pssh_client_unref(c);
        pssh_config_free(cfg);
        fault_proxy_stop(&fp);
    }
}

/* One transfer of a small file through a proxy that cuts the server's
 * stream after n bytes. */
static pssh_err cut_transfer(int scp, int putting, long n, const char *remote, const char *local, char *msg,
                             size_t cap)
{
    char up[64];
    snprintf(up, sizeof up, "127.0.0.1:%d", fleet_port());
    fault_proxy fp = fault_proxy_start(up, FP_CUT_AFTER, n);
    pssh_config *cfg = fleet_config();
    pssh_config_set_retries(cfg, 0, 0);
    pssh_client *c = proxied_client(&fp, cfg);
    pssh_err rc = putting ? put(c, scp, local, remote, NULL) : get(c, scp, remote, local, NULL);
    snprintf(msg, cap, "%s", pssh_client_error_message(c));
    pssh_client_unref(c);
    pssh_config_free(cfg);
    fault_proxy_stop(&fp);
    return rc;
}

/* A connection cut at any point of a transfer's last kilobyte (its end:
 * the remote command's reply and exit, closing, renaming) is a lost
 * connection, never a verdict of the other side: with the cut between the
 * remote scp's EOF and its channel's close, a put said "the remote scp
 * exited with -1" (PSSH_E_SCP). Every 16 bytes, finer than the smallest
 * SSH packet (32 bytes with its MAC). */
static void cut_anywhere(int scp, int putting)
{
    const char *dir = xf_dir(putting ? "cut-put" : "cut-get");
    char src[4096], dst[4096], msg[1024];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    snprintf(dst, sizeof dst, "%s/dst.bin", dir);
    xf_make_file(src, 3000, 17);
    const char *remote = putting ? dst : src, *local = putting ? src : dst;
    /* The fewest server bytes that let the transfer finish. */
    long lo = 0, hi = 1 << 20;
    cr_assert_eq(cut_transfer(scp, putting, hi, remote, local, msg, sizeof msg), PSSH_OK, "%s", msg);
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        if (cut_transfer(scp, putting, mid, remote, local, msg, sizeof msg) == PSSH_OK)
            hi = mid;
        else
            lo = mid;
    }
    for (long n = hi - 16; n > hi - 1024 && n > 0; n -= 16) {
        unlink(dst);
        pssh_err rc = cut_transfer(scp, putting, n, remote, local, msg, sizeof msg);
        cr_assert(rc == PSSH_E_LOST || rc == PSSH_OK, "%s %s cut after %ld of %ld bytes: %s: %s", proto_name(scp),
                  putting ? "put" : "get", n, hi, pssh_err_name(rc), msg);
        cr_assert(rc != PSSH_OK || xf_same_file(src, dst), "cut after %ld: a success with the wrong bytes", n);
        /* A cut after the remote rename but before its reply: lost, and
         * yet the whole file is in place. Never a part of it. */
        cr_assert(!xf_exists(dst) || xf_same_file(src, dst), "cut after %ld: a partial file under the final name", n);
    }
}

Test(xfer, scp_put_cut_anywhere_at_its_end_is_lost) { cut_anywhere(1, 1); }
Test(xfer, sftp_put_cut_anywhere_at_its_end_is_lost) { cut_anywhere(0, 1); }
Test(xfer, scp_get_cut_anywhere_at_its_end_is_lost) { cut_anywhere(1, 0); }
Test(xfer, sftp_get_cut_anywhere_at_its_end_is_lost) { cut_anywhere(0, 0); }

/* A fault proxy in front of the fleet that stalls after 2 MiB. */
static fault_proxy stall_proxy(void)
{
    char up[64];
    snprintf(up, sizeof up, "127.0.0.1:%d", fleet_port());
    return fault_proxy_start(up, FP_STALL_AFTER, 2 << 20);
}


/* A stalled host: the transfer's own timeout ends it (PSSH_E_TIMEOUT). */
Test(xfer, transfer_timeout)
{
    const char *dir = xf_dir("stall");
    char src[4096], dst[4096];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    snprintf(dst, sizeof dst, "%s/dst.bin", dir);
    xf_make_file(src, 20 << 20, 8);
    fault_proxy fp = stall_proxy();
    pssh_config *cfg = fleet_config();
    pssh_client *c = proxied_client(&fp, cfg);
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.timeout_ms = 1500;
    double t0 = now_ms();
    pssh_err rc = pssh_client_copy_remote_file(c, src, dst, &o, NULL);
    cr_assert_eq(rc, PSSH_E_TIMEOUT, "%s: %s", pssh_err_name(rc), pssh_client_error_message(c));
    cr_assert(strstr(pssh_client_error_message(c), "sftp: timeout"), "%s", pssh_client_error_message(c));
    cr_assert(now_ms() - t0 >= 1500 && now_ms() - t0 < within(10000));
    cr_assert(!xf_exists(dst));
    pssh_client_unref(c);
    pssh_config_free(cfg);
    fault_proxy_stop(&fp);
}

/* A failed transfer leaves work for the background (closing the SFTP
 * session, removing a remote temporary). Releasing the client without
 * running the loop again must still let go of everything: the connection,
 * the client's own loop and their descriptors. The cleanup held the session
 * (and with it the loop and the socket) until the loop ran again: with the
 * client's own loop, never. */
Test(xfer, releasing_the_client_after_a_failure_frees_it_all)
{
    const char *dir = xf_dir("release-after-failure");
    pssh_client *w = fleet_client(NULL, 1); /* warm-up: libraries that keep fds */
    pssh_output_unref(fleet_run(w, "true", NULL));
    pssh_client_unref(w);
    int before = count_fds();
    for (int scp = 0; scp < 2; scp++) {
        pssh_client *c = fleet_client(NULL, 1);
        pssh_err rc = get(c, scp, xf_path(dir, "nope"), xf_path(dir, "dst"), NULL);
        assert_fails(c, rc, scp ? PSSH_E_SCP : PSSH_E_SFTP, "no such file or directory", "nope");
        pssh_client_unref(c);
        cr_assert_eq(count_fds(), before, "%s: %d descriptors left after the client was released",
                     proto_name(scp), count_fds() - before);
    }
    /* a stalled host: the cleanup cannot even be sent */
    char src[4096];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    xf_make_file(src, 8 << 20, 9);
    fault_proxy fp = stall_proxy();
    before = count_fds();
    pssh_config *cfg = fleet_config();
    pssh_client *c = proxied_client(&fp, cfg);
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.timeout_ms = 1000;
    pssh_err rc = pssh_client_copy_remote_file(c, src, xf_path(dir, "dst"), &o, NULL);
    cr_assert_eq(rc, PSSH_E_TIMEOUT, "%s: %s", pssh_err_name(rc), pssh_client_error_message(c));
    pssh_client_unref(c);
    pssh_config_free(cfg);
    cr_assert_eq(count_fds(), before, "stalled: %d descriptors left after the client was released",
                 count_fds() - before);
    fault_proxy_stop(&fp);
}

/* A newline in a name over SCP: a put goes under a temporary name, then
 * SFTP renames it; a get names the file to "scp -f" in single quotes, and
 * libssh2 ignores the name scp sends back (OpenSSH's scp escapes it). */
Test(xfer, scp_newline_name)
{
    const char *dir = xf_dir("nl");
    char src[4096], mid[4096], back[4096];
    snprintf(src, sizeof src, "%s/new\nline", dir);
    snprintf(mid, sizeof mid, "%s/remote\nname", dir);
    snprintf(back, sizeof back, "%s/back\nname", dir);
    xf_make_file(src, 1000, 9);
    pssh_client *c = fleet_client(NULL, 1);
    assert_ok(c, pssh_client_scp_send(c, src, mid, NULL, NULL), "scp put of a newline name");
    cr_assert(xf_same_file(mid, src));
    assert_ok(c, pssh_client_scp_recv(c, mid, back, NULL, NULL), "scp get of a newline name");
    cr_assert(xf_same_file(back, src));
    pssh_client_unref(c);
}

/* Progress: bytes done grow to the total; the output carries the figures. */
static unsigned long long last_done, last_total;
static int progress_calls;
static void on_progress(pssh_output *o, size_t host, unsigned long long done, unsigned long long total, void *ud)
{
    (void)o, (void)host, (void)ud;
    cr_assert(done >= last_done);
    last_done = done;
    last_total = total;
    progress_calls++;
}

Test(xfer, progress_and_stats)
{
    const char *dir = xf_dir("progress");
    char src[4096];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    xf_make_file(src, 5 << 20, 10);
    pssh_client *c = fleet_client(NULL, 1);
    pssh_xfer_opts o = PSSH_XFER_OPTS_INIT;
    o.progress = on_progress;
    pssh_output *out = NULL;
    assert_ok(c, pssh_client_copy_file(c, src, xf_path(dir, "dst.bin"), &o, &out), "put");
    cr_assert(progress_calls >= 2);
    cr_assert_eq(last_done, 5u << 20);
    cr_assert_eq(last_total, 5u << 20);
    pssh_transfer_stats st = {PSSH_TRANSFER_STATS_VERSION, 0, 0, 0};
    cr_assert_eq(pssh_output_transfer_stats(out, &st), PSSH_OK);
    cr_assert_eq(st.bytes, 5u << 20);
    cr_assert(st.transfer_ms > 0);
    pssh_timings t;
    pssh_output_timings(out, &t);
    cr_assert(t.exec_ms >= 0 && t.run_ms > 0);
    cr_assert(pssh_output_finished(out));
    cr_assert_eq(pssh_output_exit_code(out), 0);
    const char *line;
    size_t len;
    cr_assert_eq(pssh_output_read_line(out, PSSH_STDOUT, &line, &len, 0), PSSH_EOF);
    cr_assert_eq(pssh_output_write_stdin(out, "x", 1, 0, NULL), PSSH_E_STATE);
    pssh_output_unref(out);
    pssh_client_unref(c);
}
