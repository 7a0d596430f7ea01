/* Interactive shells (issue 19): one host and many, through the public
 * header, against a real sshd. A shell is a login shell that reads
 * ~/.profile: the server here is an extra_sshd whose HOME is its own
 * folder, so the machine's dotfiles never run. */
#include "fixtures/fleet.h"
#include "fixtures/sshd.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static extra_sshd server;
static pssh_config *cfg;

static void start_server(void)
{
    server = extra_sshd_start(NULL, NULL);
    cfg = fleet_config();
    pssh_config_set_known_hosts(cfg, extra_sshd_known_hosts(&server, fleet_path("host_ed25519.pub")));
}

static void stop_server(void)
{
    pssh_config_free(cfg);
    extra_sshd_stop(&server);
}

static pssh_client *shell_client(void)
{
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, extra_sshd_host(&server), cfg, &c), PSSH_OK);
    return c;
}

TestSuite(shell, .init = start_server, .fini = stop_server, .timeout = 120);

Test(shell, lines_then_exit_code)
{
    pssh_client *c = shell_client();
    pssh_output *sh = NULL;
    cr_assert_eq(pssh_client_open_shell(c, NULL, &sh), PSSH_OK, "%s", pssh_client_error_message(c));
    cr_assert_eq(pssh_output_shell_run(sh, "echo one", 10000), PSSH_OK);
    cr_assert_eq(pssh_output_shell_run(sh, "echo two; echo oops >&2", 10000), PSSH_OK);
    cr_assert_eq(pssh_output_shell_run(sh, "echo three", 10000), PSSH_OK);
    cr_assert_eq(pssh_output_shell_run(sh, "exit 1", 10000), PSSH_OK);
    size_t n;
    char *out = read_all(sh, PSSH_STDOUT, &n);
    char *err = read_all(sh, PSSH_STDERR, &n);
    cr_assert_str_eq(out, "one\ntwo\nthree\n");
    cr_assert_str_eq(err, "oops\n");
    cr_assert_eq(pssh_output_exit_code(sh), 1);
    free(out);
    free(err);
    /* Over: a further line is a shell error. */
    cr_assert_eq(pssh_output_shell_run(sh, "echo late", 1000), PSSH_E_SHELL);
    pssh_output_unref(sh);
    pssh_client_unref(c);
}

Test(shell, closing_ends_the_shell)
{
    pssh_client *c = shell_client();
    pssh_output *sh = NULL;
    cr_assert_eq(pssh_client_open_shell(c, NULL, &sh), PSSH_OK);
    cr_assert_eq(pssh_output_shell_run(sh, "echo before", 10000), PSSH_OK);
    cr_assert_eq(pssh_output_close_stdin(sh, 10000), PSSH_OK);
    cr_assert_eq(pssh_output_shell_run(sh, "echo after", 1000), PSSH_E_SHELL);
    size_t n;
    char *out = read_all(sh, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "before\n");
    free(out);
    cr_assert_eq(pssh_output_exit_code(sh), 0);
    pssh_output_unref(sh);
    /* A command output is not a shell. */
    pssh_output *o = fleet_run(c, "cat", NULL);
    cr_assert_eq(pssh_output_shell_run(o, "x", 1000), PSSH_E_SHELL);
    pssh_output_close_stdin(o, 1000);
    pssh_output_unref(o);
    pssh_client_unref(c);
}

Test(shell, with_a_pty)
{
    pssh_client *c = shell_client();
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    opts.use_pty = 1;
    pssh_output *sh = NULL;
    cr_assert_eq(pssh_client_open_shell(c, &opts, &sh), PSSH_OK, "%s", pssh_client_error_message(c));
    /* Interactive: no history file written anywhere. */
    cr_assert_eq(pssh_output_shell_run(sh, "unset HISTFILE; stty -echo; test -t 0 && echo tty-yes", 10000), PSSH_OK);
    cr_assert_eq(pssh_output_shell_run(sh, "exit 7", 10000), PSSH_OK);
    size_t n;
    char *out = read_all(sh, PSSH_STDOUT, &n);
    cr_assert(strstr(out, "tty-yes") != NULL, "no tty: %s", out);
    free(out);
    cr_assert_eq(pssh_output_exit_code(sh), 7);
    pssh_output_unref(sh);
    /* Options that make no sense for a shell are refused. */
    pssh_cmd_opts bad = PSSH_CMD_OPTS_INIT;
    bad.sudo = 1;
    cr_assert_eq(pssh_client_open_shell(c, &bad, &sh), PSSH_E_INVAL);
    cr_assert_null(sh);
    pssh_client_unref(c);
}

/* A shell on a host that cannot be reached carries the host's class. */
Test(shell, failed_host_keeps_its_class)
{
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, "127.0.0.1:1", cfg, &c), PSSH_OK);
    pssh_output *sh = NULL;
    cr_assert_eq(pssh_client_open_shell(c, NULL, &sh), PSSH_E_REFUSED);
    cr_assert_null(sh);
    pssh_client_unref(c);
}

#define HOSTS 20
Test(shell, twenty_hosts_at_once)
{
    const char *hosts[HOSTS];
    char names[HOSTS][64];
    for (int i = 0; i < HOSTS; i++) { /* 20 connections to one server */
        snprintf(names[i], sizeof names[i], "%s", extra_sshd_host(&server));
        hosts[i] = names[i];
    }
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, HOSTS, cfg, NULL, &p), PSSH_OK);
    pssh_output *shells[HOSTS];
    cr_assert_eq(pssh_parallel_open_shells(p, NULL, shells), PSSH_OK, "%s", pssh_parallel_error_message(p));
    const char *lines[] = {"echo hello", "echo $((6 * 7))"};
    cr_assert_eq(pssh_parallel_run_shell_commands(p, lines, 2, 20000), PSSH_OK);
    size_t unfinished = 99;
    cr_assert_eq(pssh_parallel_join_shells(p, 20000, &unfinished), PSSH_OK);
    cr_assert_eq(unfinished, 0);
    for (int i = 0; i < HOSTS; i++) {
        size_t n;
        char *out = read_all(shells[i], PSSH_STDOUT, &n);
        cr_assert_str_eq(out, "hello\n42\n", "host %d", i);
        free(out);
        cr_assert_eq(pssh_output_exit_code(shells[i]), 0);
        pssh_output_unref(shells[i]);
    }
    /* Lines for a run that is not shells are refused. */
    pssh_output *outs[HOSTS];
    cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, outs), PSSH_OK);
    cr_assert_eq(pssh_parallel_run_shell_commands(p, lines, 1, 1000), PSSH_E_SHELL);
    cr_assert_eq(pssh_parallel_join(p, 20000, 0, NULL), PSSH_OK);
    for (int i = 0; i < HOSTS; i++)
        pssh_output_unref(outs[i]);
    pssh_parallel_unref(p);
}
