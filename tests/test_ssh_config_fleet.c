/* OpenSSH client configuration through the public API, against the fleet:
 * a file with Host, HostName, User, Port and IdentityFile is all a client
 * needs to connect. Written in C against the public header only. */
#include "fixtures/fleet.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(ssh_config, .timeout = 120);

/* Aliases web1 and web2 for fleet hosts 1 and 2, with everything a
 * connection needs; `extra` goes first (first value wins). */
static const char *write_config(const char *name, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "%s"
             "Host web1\n"
             "  HostName 127.0.0.1\n"
             "Host web2\n"
             "  HostName 127.0.0.2\n"
             "Host web*\n"
             "  User %s\n"
             "  Port %d\n"
             "  IdentityFile %s\n"
             "  IdentityFile %s/no-such-key\n" /* skipped, as ssh skips it */
             "  IdentitiesOnly yes\n"
             "  UserKnownHostsFile %s\n"
             "  StrictHostKeyChecking yes\n"
             "  ConnectTimeout %d\n"
             "  ConnectionAttempts 1\n",
             extra, fleet("FLEET_USER"), fleet_port(), fleet("FLEET_KEY"), fleet("FLEET_DIR"),
             fleet("FLEET_KNOWN_HOSTS"), (int)(within(30000) / 1000));
    return fleet_write_file(name, text);
}

static pssh_config *config_reading(const char *path)
{
    pssh_config *cfg = NULL;
    cr_assert_eq(pssh_config_new(&cfg), PSSH_OK);
    const char *files[] = {path, NULL};
    cr_assert_eq(pssh_config_set_ssh_config(cfg, files), PSSH_OK);
    return cfg;
}

/* The server's address as the remote shell sees it ($SSH_CONNECTION). */
static char *server_address(pssh_output *o)
{
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    return out;
}

Test(ssh_config, host_hostname_user_port_identityfile_connect)
{
    pssh_config *cfg = config_reading(write_config("ssh_config_basic", ""));
    const char *names[] = {"web1", "web2"};
    const char *addrs[] = {"127.0.0.1", "127.0.0.2"};
    for (int i = 0; i < 2; i++) {
        pssh_client *c = NULL;
        cr_assert_eq(pssh_client_new(NULL, names[i], cfg, &c), PSSH_OK);
        pssh_output *o = NULL;
        cr_assert_eq(pssh_client_run_command(c, "echo $SSH_CONNECTION | cut -d' ' -f3", NULL, &o), PSSH_OK,
                     "%s", pssh_client_error_message(c));
        char *addr = server_address(o);
        cr_expect_str_eq(addr, addrs[i], "%s reached %s", names[i], addr);
        cr_assert_eq(pssh_output_wait(o, 10000, 0), PSSH_OK);
        cr_expect_eq(pssh_output_exit_code(o), 0);
        /* HostName changes where to connect, not the host's name. */
        cr_expect_str_eq(pssh_output_host(o), names[i]);
        cr_expect_str_eq(pssh_client_host(c), names[i]);
        free(addr);
        pssh_output_unref(o);
        pssh_client_unref(c);
    }
    pssh_config_free(cfg);
}

Test(ssh_config, parallel_hosts_resolve_each_their_own)
{
    pssh_config *cfg = config_reading(write_config("ssh_config_parallel", ""));
    const char *hosts[] = {"web2", "web1", "web2"};
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, 3, cfg, NULL, &p), PSSH_OK);
    pssh_config_free(cfg);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_output *outs[3];
    cr_assert_eq(pssh_parallel_run_command(p, "echo $SSH_CONNECTION | cut -d' ' -f3", NULL, outs), PSSH_OK,
                 "%s", pssh_parallel_error_message(p));
    const char *want[] = {"127.0.0.2", "127.0.0.1", "127.0.0.2"};
    for (int i = 0; i < 3; i++) {
        char *addr = server_address(outs[i]);
        cr_expect_str_eq(addr, want[i]);
        cr_expect_eq(pssh_output_error(outs[i]), PSSH_OK, "%s", pssh_output_error_message(outs[i]));
        free(addr);
        pssh_output_unref(outs[i]);
    }
    pssh_parallel_unref(p);
}

Test(ssh_config, a_value_set_through_the_api_wins)
{
    /* The file's first User and Port are wrong for the fleet: set through
     * the API, the right ones win; left to the file, the host fails. */
    const char *path = write_config("ssh_config_api_wins", "Host *\n  User nobody-here\n  Port 1\n");
    pssh_config *cfg = config_reading(path);
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, "web1", cfg, &c), PSSH_OK);
    cr_expect_eq(pssh_client_connect(c), PSSH_E_REFUSED, "port 1 from the file: %s", pssh_client_error_message(c));
    pssh_client_unref(c);
    cr_assert_eq(pssh_config_set_port(cfg, fleet_port()), PSSH_OK);
    cr_assert_eq(pssh_config_set_user(cfg, fleet("FLEET_USER")), PSSH_OK);
    cr_assert_eq(pssh_client_new(NULL, "web1", cfg, &c), PSSH_OK);
    cr_expect_eq(pssh_client_connect(c), PSSH_OK, "%s", pssh_client_error_message(c));
    pssh_client_unref(c);
    pssh_config_free(cfg);
}

static int warnings;
static char last_warning[1024];
static void count_warnings(pssh_log_level level, const char *msg, void *ud)
{
    (void)ud;
    if (level == PSSH_LOG_WARN) {
        warnings++;
        snprintf(last_warning, sizeof last_warning, "%s", msg);
    }
}

/* ProxyJump is the host's proxy chain (pssh_config_set_proxy): a hop that
 * refuses fails every host behind it with PSSH_E_PROXY naming the hop, and
 * nothing is warned. It was "not supported yet" and reached hosts directly. */
Test(ssh_config, proxyjump_is_the_proxy_chain)
{
    const char *path = write_config("ssh_config_jump", "Host web*\n  ProxyJump 127.0.0.1:1\n");
    pssh_config *cfg = config_reading(path);
    cr_assert_eq(pssh_config_set_retries(cfg, 0, 0), PSSH_OK);
    pssh_loop *loop = NULL;
    cr_assert_eq(pssh_loop_new(&loop), PSSH_OK);
    warnings = 0;
    cr_assert_eq(pssh_loop_set_log(loop, PSSH_LOG_WARN, count_warnings, NULL), PSSH_OK);
    const char *hosts[] = {"web1", "web2"};
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(loop, hosts, 2, cfg, NULL, &p), PSSH_OK);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_parallel_connect_auth(p);
    for (size_t i = 0; i < 2; i++) {
        const char *msg = pssh_parallel_host_error_message(p, i);
        cr_expect_eq(pssh_parallel_host_error(p, i), PSSH_E_PROXY, "%s: %s", hosts[i], msg);
        cr_expect(strstr(msg, "127.0.0.1") != NULL, "the message names the hop: %s", msg);
    }
    cr_expect_eq(warnings, 0, "%s", last_warning);
    pssh_parallel_unref(p);
    pssh_loop_unref(loop);
    pssh_config_free(cfg);
}

Test(ssh_config, a_bad_file_fails_its_hosts_with_the_line)
{
    const char *path = fleet_write_file("ssh_config_bad", "Host web*\n  Port 99999\n");
    pssh_config *cfg = config_reading(path);
    const char *hosts[] = {"web1"};
    pssh_parallel *p = NULL;
    cr_assert_eq(pssh_parallel_new(NULL, hosts, 1, cfg, NULL, &p), PSSH_OK);
    pssh_config_free(cfg);
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_output *out = NULL;
    cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, &out), PSSH_OK);
    cr_expect_eq(pssh_output_error(out), PSSH_E_HOST_ARG);
    const char *msg = pssh_output_error_message(out);
    cr_expect(strstr(msg, "web1: ssh_config: ") == msg, "%s", msg);
    cr_expect(strstr(msg, "line 2: Bad port '99999'") != NULL, "%s", msg);
    pssh_output_unref(out);
    pssh_parallel_unref(p);
    /* A single client refuses at once. */
    cfg = config_reading(path);
    pssh_client *c = NULL;
    cr_expect_eq(pssh_client_new(NULL, "web1", cfg, &c), PSSH_E_HOST_ARG);
    cr_expect_null(c);
    pssh_config_free(cfg);
}

Test(ssh_config, setter_arguments)
{
    pssh_config *cfg = NULL;
    cr_assert_eq(pssh_config_new(&cfg), PSSH_OK);
    const char *empty[] = {NULL};
    const char *blank[] = {"", NULL};
    cr_expect_eq(pssh_config_set_ssh_config(cfg, NULL), PSSH_E_INVAL);
    cr_expect_eq(pssh_config_set_ssh_config(cfg, blank), PSSH_E_INVAL);
    cr_expect_eq(pssh_config_set_ssh_config(cfg, empty), PSSH_OK);
    cr_expect_eq(pssh_config_set_ssh_config(NULL, empty), PSSH_E_INVAL);
    pssh_config_free(cfg);
}
