/* The single-host client against a real sshd: commands, streams, exit
 * status, lifetimes. Written in C against the public header only. */
#include "fixtures/fleet.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* 8 MB through stdin, checked by the remote side. */
Test(client, large_stdin_is_exact)
{
    pssh_client *c = fleet_client(NULL, 1);
    pssh_output *o = fleet_run(c, "wc -c; md5sum", NULL);
    (void)o;
    pssh_output_unref(o);
    o = fleet_run(c, "wc -c", NULL);
    static char chunk[65536];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)('a' + i % 26);
    for (int i = 0; i < 128; i++) {
        size_t w = 0;
        cr_assert_eq(pssh_output_write_stdin(o, chunk, sizeof chunk, 10000, &w), PSSH_OK);
        cr_assert_eq(w, sizeof chunk);
    }
    cr_assert_eq(pssh_output_close_stdin(o, 10000), PSSH_OK);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_eq(atol(out), 128L * 65536, "remote counted %s", out);
    free(out);
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
    cr_assert(now_ms() - t0 < within(1000));
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

Test(client, connect_then_reuse)
{
    pssh_client *c = fleet_client(NULL, 2);
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    cr_assert_not_null(pssh_client_session(c));
    cr_assert_eq(pssh_client_connect(c), PSSH_OK);
    pssh_output *o = fleet_run(c, "echo $SSH_CONNECTION", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert(strstr(out, "127.0.0.2") != NULL, "%s", out);
    free(out);
    pssh_timings t;
    cr_assert_eq(pssh_output_timings(o, &t), PSSH_OK);
    cr_assert(t.connect_ms >= 0 && t.handshake_ms > 0 && t.auth_ms > 0 && t.exec_ms > 0 && t.run_ms >= 0);
    pssh_output_unref(o);
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

Test(client, releasing_a_running_command_closes_its_channel)
{
    pssh_client *c = fleet_client(NULL, 1);
    for (int i = 0; i < 5; i++)
        pssh_output_unref(fleet_run(c, "sleep 30", NULL));
    pssh_output *o = fleet_run(c, "echo fine", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "fine\n");
    free(out);
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
