/* The single-host client against a real sshd: commands, streams, exit
 * status, lifetimes. Written in C against the public header only. */
#include "fixtures/fleet.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(client, .timeout = 60);

Test(client, runs_a_command_and_reads_lines)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "echo one; echo two; printf three", NULL);
    const char *line;
    size_t len;
    const char *want[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, -1), PSSH_OK);
        cr_assert_eq(len, strlen(want[i]));
        cr_assert_arr_eq(line, want[i], len);
    }
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, -1), PSSH_EOF);
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 0);
    cr_assert_null(pssh_output_exit_signal(o));
    cr_assert_eq(pssh_output_error(o), PSSH_OK);
    cr_assert_str_eq(pssh_output_error_message(o), "");
    cr_assert_str_eq(pssh_output_host(o), fleet_host(1));
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, stdout_and_stderr_stay_apart)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "echo out1; echo err1 >&2; echo out2; echo err2 >&2", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    char *err = read_all(o, PSSH_STDERR, &n);
    cr_assert_str_eq(out, "out1\nout2\n");
    cr_assert_str_eq(err, "err1\nerr2\n");
    free(out);
    free(err);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, exit_codes)
{
    pssh_client *c = fleet_client(NULL, 1);
    const int codes[] = {0, 1, 3, 42, 255};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "exit %d", codes[i]);
        pssh_output *o = fleet_run(c, cmd, NULL);
        cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
        cr_assert(pssh_output_finished(o));
        cr_assert_eq(pssh_output_exit_code(o), codes[i]);
        pssh_output_unref(o);
    }
    pssh_client_unref(c);
}

/* libssh2 reports exit status 0 for a command killed by a signal: the
 * signal must be what the caller sees. */
Test(client, exit_signal_is_not_exit_zero)
{
    pssh_client *c = fleet_client(NULL, 1);
    const char *sigs[][2] = {{"kill -TERM $$", "TERM"}, {"kill -KILL $$", "KILL"}, {"kill -SEGV $$", "SEGV"}};
    for (int i = 0; i < 3; i++) {
        pssh_output *o = fleet_run(c, sigs[i][0], NULL);
        cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
        cr_assert_eq(pssh_output_exit_code(o), -1, "%s", sigs[i][0]);
        cr_assert_str_eq(pssh_output_exit_signal(o), sigs[i][1]);
        pssh_output_unref(o);
    }
    pssh_client_unref(c);
}

Test(client, command_without_output_finishes)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "true", NULL);
    const char *line;
    size_t len;
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000), PSSH_EOF);
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDERR, &line, &len, 10000), PSSH_EOF);
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 0);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* Tens of MB, byte-exact, through the raw reader. */
Test(client, large_output_is_byte_exact)
{
    pssh_client *c = fleet_client(NULL, 1);
    const long lines = 5000000; /* 38.9 MB */
    char cmd[64];
    snprintf(cmd, sizeof cmd, "seq 1 %ld", lines);
    pssh_output *o = fleet_run(c, cmd, NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    size_t off = 0;
    char want[32];
    for (long i = 1; i <= lines; i++) {
        int w = snprintf(want, sizeof want, "%ld\n", i);
        cr_assert(off + (size_t)w <= n, "output ends early at line %ld", i);
        if (memcmp(out + off, want, (size_t)w) != 0)
            cr_assert_fail("line %ld differs", i);
        off += (size_t)w;
    }
    cr_assert_eq(off, n, "trailing bytes after the last line");
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 0);
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* Lines read one by one over 2 MB: every line whole, in order. */
Test(client, many_lines_in_order)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "seq 1 300000", NULL);
    const char *line;
    size_t len;
    long i = 0;
    char want[32];
    pssh_err rc;
    while ((rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000)) == PSSH_OK) {
        i++;
        int w = snprintf(want, sizeof want, "%ld", i);
        cr_assert(len == (size_t)w && memcmp(line, want, len) == 0, "line %ld: got %.*s", i, (int)len, line);
    }
    cr_assert_eq(rc, PSSH_EOF);
    cr_assert_eq(i, 300000);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, stdin_round_trip)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "cat", NULL);
    const char *msg = "hello stdin\nsecond line\n";
    size_t written = 0;
    cr_assert_eq(pssh_output_write_stdin(o, msg, strlen(msg), 10000, &written), PSSH_OK);
    cr_assert_eq(written, strlen(msg));
    cr_assert_eq(pssh_output_close_stdin(o, 10000), PSSH_OK);
    cr_assert_eq(pssh_output_write_stdin(o, "x", 1, 1000, NULL), PSSH_E_STATE);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, msg);
    free(out);
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 0);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* Bytes whose every 64 KiB chunk is numbered and differs from the others:
 * a lost, repeated or reordered chunk changes the checksum. */
static char *numbered_chunks(int chunks, size_t *len)
{
    const size_t size = 65536;
    char *buf = malloc(size * (size_t)chunks);
    cr_assert_not_null(buf);
    for (int i = 0; i < chunks; i++) {
        char *c = buf + size * (size_t)i;
        for (size_t k = 0; k < size; k++)
            c[k] = (char)('a' + (k * 7 + (size_t)i * 13) % 26);
        char head[32];
        int n = snprintf(head, sizeof head, "\nchunk %06d\n", i);
        memcpy(c, head, (size_t)n);
    }
    *len = size * (size_t)chunks;
    return buf;
}

/* sha256sum of bytes, computed here by the same tool as on the server. */
static void local_sha256(const char *buf, size_t len, char hex[65])
{
    const char *path = fleet_path("sha_input");
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "sha256sum < %s", path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    cr_assert_eq(fscanf(p, "%64s", hex), 1);
    pclose(p);
    unlink(path);
}

/* 8 MB through stdin, numbered chunks, checksummed by the remote side. */
Test(client, large_stdin_is_exact)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "sha256sum", NULL);
    size_t len;
    char *data = numbered_chunks(128, &len);
    for (size_t off = 0; off < len; off += 65536) {
        size_t w = 0;
        cr_assert_eq(pssh_output_write_stdin(o, data + off, 65536, 10000, &w), PSSH_OK);
        cr_assert_eq(w, 65536);
    }
    cr_assert_eq(pssh_output_close_stdin(o, 10000), PSSH_OK);
    char want[65];
    local_sha256(data, len, want);
    char *out = read_all(o, PSSH_STDOUT, NULL);
    cr_assert(strncmp(out, want, 64) == 0, "remote sha256 %.64s, sent %s", out, want);
    free(out);
    free(data);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* A write that times out leaves the rest queued: it is sent in the
 * background (here while the caller only reads stdout), in order, before
 * anything written later. */
Test(client, stdin_left_by_a_timeout_is_sent_in_order)
{
    pssh_client *c = fleet_client(NULL, 1);
    /* Reads nothing for 1 s, then exactly the 8 MB and the 4 bytes after. */
    pssh_output *o = fleet_run(c, "sleep 1; head -c 8388612 | sha256sum", NULL);
    size_t len;
    char *data = numbered_chunks(128, &len);
    size_t w = 0;
    pssh_err rc = pssh_output_write_stdin(o, data, len, 200, &w);
    cr_assert_eq(rc, PSSH_E_AGAIN, "%s", pssh_err_name(rc));
    cr_assert(w < len, "all of %zu bytes went within 200 ms to a command that does not read", len);
    /* Written later: goes after the rest, however little was sent. */
    rc = pssh_output_write_stdin(o, "END\n", 4, 0, &w);
    cr_assert_eq(rc, PSSH_E_AGAIN, "%s", pssh_err_name(rc));
    char *all = realloc(data, len + 4);
    cr_assert_not_null(all);
    memcpy(all + len, "END\n", 4);
    char want[65];
    local_sha256(all, len + 4, want);
    char *out = read_all(o, PSSH_STDOUT, NULL);
    cr_assert(strncmp(out, want, 64) == 0, "remote sha256 %.64s, sent %s", out, want);
    free(out);
    free(all);
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 0);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* Once the command stops reading its stdin, writing gives PSSH_E_STATE
 * (not a hang, not a host failure), and its output is still all there.
 * It returned PSSH_OK with *written short of len when the command exited
 * while the call waited. */
Test(client, stdin_of_a_command_that_stopped_reading)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "head -c 100000 >/dev/null; echo stopped", NULL);
    size_t len, w = 0;
    char *data = numbered_chunks(128, &len);
    pssh_err rc = pssh_output_write_stdin(o, data, len, (int)within(20000), &w);
    cr_assert_eq(rc, PSSH_E_STATE, "%s after %zu bytes", pssh_err_name(rc), w);
    cr_assert(w >= 100000 && w < len, "%zu bytes written", w);
    cr_assert_eq(pssh_output_write_stdin(o, "x", 1, 1000, NULL), PSSH_E_STATE);
    free(data);
    char *out = read_all(o, PSSH_STDOUT, NULL);
    cr_assert_str_eq(out, "stopped\n");
    free(out);
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 0);
    cr_assert_eq(pssh_output_error(o), PSSH_OK);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, output_outlives_its_client)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "sleep 0.3; echo late; exit 7", NULL);
    c = pssh_client_unref(c);
    cr_assert_null(c);
    const char *line;
    size_t len;
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000), PSSH_OK);
    cr_assert_eq(len, 4);
    cr_assert_arr_eq(line, "late", 4);
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
    cr_assert_eq(pssh_output_exit_code(o), 7);
    pssh_output_unref(o);
}

Test(client, output_outlives_client_and_loop)
{
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    pssh_client *c = fleet_client(loop, 1);
    pssh_output *o = fleet_run(c, "echo still-here", NULL);
    pssh_client_unref(c);
    pssh_loop_unref(loop);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "still-here\n");
    free(out);
    pssh_output_unref(o);
}

Test(client, several_commands_on_one_connection)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *a = fleet_run(c, "sleep 0.2; echo a", NULL);
    pssh_output *b = fleet_run(c, "echo b", NULL);
    size_t n;
    char *bo = read_all(b, PSSH_STDOUT, &n);
    char *ao = read_all(a, PSSH_STDOUT, &n);
    cr_assert_str_eq(ao, "a\n");
    cr_assert_str_eq(bo, "b\n");
    free(ao);
    free(bo);
    pssh_output_unref(a);
    pssh_output_unref(b);
    pssh_client_unref(c);
}

/* A timeout never loses a partial line: it is there for the next read. */
Test(client, read_timeout_keeps_partial_line)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "printf abc; sleep 1; echo def", NULL);
    const char *line;
    size_t len;
    double t0 = now_ms();
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 200), PSSH_E_AGAIN);
    double dt = now_ms() - t0;
    cr_assert(dt >= 190 && dt < within(900), "read timeout took %.0f ms", dt);
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000), PSSH_OK);
    cr_assert_eq(len, 6);
    cr_assert_arr_eq(line, "abcdef", 6);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, read_timeout_from_command_options)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.read_timeout_ms = 150;
    pssh_output *o = fleet_run(c, "sleep 5", &opts);
    const char *line;
    size_t len;
    double t0 = now_ms();
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, -1), PSSH_E_AGAIN);
    double dt = now_ms() - t0;
    cr_assert(dt >= 145 && dt < within(1000), "a 150 ms read timeout took %.0f ms", dt);
    size_t n = 0;
    char buf[8];
    cr_assert_eq(pssh_output_read(o, PSSH_STDOUT, buf, sizeof buf, &n, 0), PSSH_E_AGAIN);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, command_timeout)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.timeout_ms = 300;
    cr_assert_eq(pssh_client_connect(c), PSSH_OK); /* the bound is on the command alone */
    double t0 = now_ms();
    pssh_output *o = fleet_run(c, "echo before; sleep 30", &opts);
    cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_E_TIMEOUT);
    double dt = now_ms() - t0;
    cr_assert(dt >= 290 && dt < within(2000), "command timeout after %.0f ms", dt);
    cr_assert(pssh_output_finished(o));
    cr_assert_eq(pssh_output_error(o), PSSH_E_TIMEOUT);
    cr_assert_eq(pssh_output_exit_code(o), -1);
    cr_assert(strstr(pssh_output_error_message(o), "command") != NULL, "%s", pssh_output_error_message(o));
    /* What arrived before the timeout is still there. */
    const char *line;
    size_t len;
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 0), PSSH_OK);
    cr_assert_arr_eq(line, "before", 6);
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 0), PSSH_E_TIMEOUT);
    pssh_output_unref(o);
    /* The connection is still good for the next command. */
    o = fleet_run(c, "echo after", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "after\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, pty_merges_stderr)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.use_pty = 1;
    pssh_output *o = fleet_run(c, "tty >/dev/null && echo is-a-tty; echo to-stderr >&2", &opts);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert(strstr(out, "is-a-tty\r\n") != NULL, "%s", out);
    cr_assert(strstr(out, "to-stderr") != NULL, "%s", out);
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, env_is_sent)
{
    pssh_client *c = fleet_client(NULL, 1);
    const char *env[] = {"PSSH_ONE=1", "PSSH_TWO=two words", NULL};
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.env = env;
    pssh_output *o = fleet_run(c, "echo \"$PSSH_ONE/$PSSH_TWO\"", &opts);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "1/two words\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, shell_option_quotes_the_command)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.shell = "bash -c";
    pssh_output *o = fleet_run(c, "echo \"it's $BASH_VERSINFO\" | tr -d 0-9", &opts);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "it's \n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* sudo is reached through a shim first in the remote PATH that prints
 * what it was given, so the exact command line is checked. */
Test(client, sudo_and_user_build_the_documented_command)
{
    fleet_require_owned("a sudo shim in its bin/");
    const char *shim = fleet_write_file("bin/sudo", "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done\necho\n");
    cr_assert_eq(chmod(shim, 0755), 0);
    pssh_client *c = fleet_client(NULL, 1);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.user = "nobody";
    pssh_output *o = fleet_run(c, "id -un && echo 'x'", &opts);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "<-S><-u><nobody><sh><-c><id -un && echo 'x'>\n");
    free(out);
    pssh_output_unref(o);
    pssh_cmd_opts sudo = PSSH_CMD_OPTS_INIT;
    sudo.sudo = 1;
    o = fleet_run(c, "true", &sudo);
    out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "<-S><sh><-c><true>\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(client, deprecated_execute_and_disconnect)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    cr_assert_eq(pssh_client_execute(c, "echo old", NULL, &o), PSSH_OK);
    cr_assert_eq(pssh_client_disconnect(c), PSSH_OK);
#pragma GCC diagnostic pop
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "old\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* One connection serves connect and every later command: the server sees
 * the same client port each time, and the session never changes. */
Test(client, connect_then_reuse)
{
    pssh_client *c = fleet_client(NULL, 2);
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    void *session = pssh_client_session(c);
    cr_assert_not_null(session);
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    cr_assert_eq(pssh_client_session(c), session, "a second connect made a new connection");
    char *seen[3];
    for (int i = 0; i < 3; i++) {
        pssh_output *o = fleet_run(c, "echo $SSH_CONNECTION", NULL);
        seen[i] = read_all(o, PSSH_STDOUT, NULL);
        cr_assert(strstr(seen[i], "127.0.0.2") != NULL, "%s", seen[i]);
        cr_assert_str_eq(seen[i], seen[0], "command %d came over another connection", i);
        pssh_timings t;
        cr_assert_eq(pssh_output_timings(o, &t), PSSH_OK);
        cr_assert(t.connect_ms >= 0 && t.handshake_ms > 0 && t.auth_ms > 0 && t.exec_ms > 0 && t.run_ms >= 0);
        pssh_output_unref(o);
        cr_assert_eq(pssh_client_session(c), session, "command %d made a new connection", i);
    }
    for (int i = 0; i < 3; i++)
        free(seen[i]);
    pssh_client_unref(c);
}

/* The connection closes when its last holder lets go: no descriptor left. */
Test(client, no_descriptor_left_behind)
{
    /* Warm up: the first connection loads libraries that keep fds. */
    pssh_client *w = fleet_client(NULL, 1);
    pssh_output_unref(fleet_run(w, "true", NULL));
    pssh_client_unref(w);
    int before = count_fds();
    for (int i = 0; i < 30; i++) {
        pssh_client *c = fleet_client(NULL, 1 + i % 3);
        pssh_output *o = fleet_run(c, "echo x", NULL);
        if (i % 2)
            pssh_client_unref(c);
        size_t n;
        free(read_all(o, PSSH_STDOUT, &n));
        pssh_output_unref(o);
        if (!(i % 2))
            pssh_client_unref(c);
    }
    cr_assert_eq(count_fds(), before);
}

/* Releasing a running command's output closes its channel: on the server,
 * sshd closes the command's stdin, so each `cat` ends. (The fleet allows
 * 1000 sessions per connection: a leaked channel would not show by
 * itself.) */
Test(client, releasing_a_running_command_closes_its_channel)
{
    pssh_client *c = fleet_client(NULL, 1);
    char pids[256] = "";
    for (int i = 0; i < 5; i++) {
        pssh_output *o = fleet_run(c, "echo $$; exec cat", NULL);
        const char *line;
        size_t len;
        cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000), PSSH_OK);
        size_t used = strlen(pids);
        snprintf(pids + used, sizeof pids - used, " %.*s", (int)len, line);
        pssh_output_unref(o);
    }
    char check[512];
    snprintf(check, sizeof check, "for p in%s; do kill -0 $p 2>/dev/null && echo -n \" $p\"; done; true", pids);
    char *alive = NULL;
    double t0 = now_ms();
    do {
        free(alive);
        pssh_output *o = fleet_run(c, check, NULL);
        alive = read_all(o, PSSH_STDOUT, NULL);
        pssh_output_unref(o);
    } while (*alive && now_ms() - t0 < within(5000));
    cr_assert_str_eq(alive, "", "commands of released outputs still run on the server:%s (of%s)", alive, pids);
    free(alive);
    pssh_client_unref(c);
}

/* Releasing never blocks the caller, even with the server stopped
 * (SIGSTOP) and megabytes of stdin queued for it; the connection's
 * descriptor goes with the last holder. */
Test(client, releasing_never_blocks_on_a_stopped_server)
{
    pssh_client *w = fleet_client(NULL, 1); /* warm-up: libraries that keep fds */
    pssh_output_unref(fleet_run(w, "true", NULL));
    pssh_client_unref(w);
    int before = count_fds();
    pssh_client *c = fleet_client(NULL, 1);
    pid_t server = (pid_t)fleet_server_pid(c);
    pssh_output *o = fleet_run(c, "cat >/dev/null", NULL);
    cr_assert_eq(kill(server, SIGSTOP), 0);
    static char big[4 << 20];
    size_t written = 0;
    pssh_err rc = pssh_output_write_stdin(o, big, sizeof big, 300, &written);
    double t0 = now_ms();
    pssh_output_unref(o);
    pssh_client_unref(c);
    double dt = now_ms() - t0;
    kill(server, SIGCONT);
    cr_assert_eq(rc, PSSH_E_AGAIN, "%s", pssh_err_name(rc));
    cr_assert(written < sizeof big, "a stopped server took all of stdin");
    cr_assert(dt < within(300), "releasing took %.0f ms", dt);
    cr_assert_eq(count_fds(), before);
}

/* The two streams share one SSH window: with stderr at its limit, stdout
 * can get nothing more, and reading it says so (PSSH_E_FULL) instead of
 * waiting; reading stderr lets the host go on. */
Test(client, read_says_full_when_the_other_stream_is_at_its_limit)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.buffer_limit = 64 * 1024;
    pssh_output *o = fleet_run(c, "head -c 1000000 /dev/zero >&2; echo done", &opts);
    const char *line;
    size_t len;
    char buf[16];
    size_t n;
    pssh_err rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, (int)within(10000));
    cr_assert_eq(rc, PSSH_E_FULL, "read_line: %s", pssh_err_name(rc));
    rc = pssh_output_read(o, PSSH_STDOUT, buf, sizeof buf, &n, (int)within(10000));
    cr_assert_eq(rc, PSSH_E_FULL, "read: %s", pssh_err_name(rc));
    size_t errlen;
    char *err = read_all(o, PSSH_STDERR, &errlen);
    cr_assert_eq(errlen, 1000000);
    free(err);
    char *out = read_all(o, PSSH_STDOUT, NULL);
    cr_assert_str_eq(out, "done\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* wait: with output piling up past the limit, PSSH_E_FULL; with discard,
 * the output is thrown away and the command runs to its end. */
Test(client, wait_with_discard_throws_output_away)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.buffer_limit = 64 * 1024;
    pssh_output *o = fleet_run(c, "seq 1 1000000; seq 1 1000000 >&2; exit 3", &opts);
    cr_assert_eq(pssh_output_wait(o, (int)within(10000), 0), PSSH_E_FULL);
    cr_assert(!pssh_output_finished(o));
    cr_assert_eq(pssh_output_wait(o, (int)within(30000), 1), PSSH_OK);
    cr_assert(pssh_output_finished(o));
    cr_assert_eq(pssh_output_exit_code(o), 3);
    /* Nothing of 13.8 MB was kept beyond what the buffers held. */
    size_t outlen, errlen;
    char *out = read_all(o, PSSH_STDOUT, &outlen);
    char *err = read_all(o, PSSH_STDERR, &errlen);
    cr_assert(outlen <= 64 * 1024 && errlen <= 64 * 1024, "kept %zu + %zu bytes", outlen, errlen);
    free(out);
    free(err);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* A host that dies mid-output: what arrived is kept, then the error. */
Test(client, host_dies_mid_output)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "echo first; sleep 0.3; kill -9 $PPID; sleep 5", NULL);
    const char *line;
    size_t len;
    cr_assert_eq(pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000), PSSH_OK);
    cr_assert_arr_eq(line, "first", 5);
    double t0 = now_ms();
    pssh_err rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000);
    cr_assert_eq(rc, PSSH_E_LOST, "got %s", pssh_err_name(rc));
    cr_assert(now_ms() - t0 < within(3000));
    cr_assert_eq(pssh_output_wait(o, 1000, 0), PSSH_E_LOST);
    cr_assert_eq(pssh_output_exit_code(o), -1, "a dropped connection never reads as exit 0");
    cr_assert(strstr(pssh_output_error_message(o), "lost") != NULL, "%s", pssh_output_error_message(o));
    pssh_output_unref(o);
    /* The client reconnects for the next command. */
    o = fleet_run(c, "echo again", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "again\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

/* Lines exactly as long as a tiny buffer limit, CRLF endings: every line
 * comes out whole, without empty extras, and reading never stalls (a cut
 * line's ending frees room that must wake the reader). */
Test(client, lines_at_the_buffer_limit_never_stall)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.buffer_limit = 4;
    pssh_output *o = fleet_run(c, "for i in $(seq 1 3000); do printf 'abcd\\r\\nwxyz\\n'; done", &opts);
    const char *line;
    size_t len;
    long n = 0;
    pssh_err rc;
    while ((rc = pssh_output_read_line(o, PSSH_STDOUT, &line, &len, 10000)) == PSSH_OK) {
        const char *want = n % 2 ? "wxyz" : "abcd";
        cr_assert(len == 4 && !memcmp(line, want, 4), "line %ld: '%.*s'", n, (int)len, line);
        n++;
    }
    cr_assert_eq(rc, PSSH_EOF, "%s", pssh_err_name(rc));
    cr_assert_eq(n, 6000);
    pssh_output_unref(o);
    pssh_client_unref(c);
}
