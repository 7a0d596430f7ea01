/* parallel_example: run COMMAND on every HOST at once.
 *
 *   parallel_example COMMAND HOST...
 *
 * Each line a host prints is shown as it arrives, as "host: line" (its
 * stderr lines on stderr), then every host's exit code or error, in
 * host order. PSSH_EXAMPLE_KEY and PSSH_EXAMPLE_KNOWN_HOSTS, when set,
 * name the private key and the known_hosts file to use. Exit status: 0
 * when every host ran COMMAND and it exited 0, 1 otherwise, 2 on a
 * usage error.
 *
 *   cc parallel_example.c $(pkg-config --cflags --libs libpssh)
 */
#include <pssh/pssh.h>
#include <stdio.h>
#include <stdlib.h>

/* Called on the loop's thread, from inside pssh_parallel_run_command()
 * and pssh_parallel_join(), with one whole line of one host. */
static void on_line(pssh_output *o, size_t host, pssh_stream stream,
                    const char *line, size_t len, void *userdata)
{
    FILE *f = stream == PSSH_STDOUT ? stdout : stderr;

    (void)host;
    (void)userdata;
    /* The line keeps its ending ("\n", "\r\n" or none). */
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    fprintf(f, "%s: %.*s\n", pssh_output_alias(o), (int)len, line);
}

int main(int argc, char **argv)
{
    const char *key = getenv("PSSH_EXAMPLE_KEY");
    const char *known_hosts = getenv("PSSH_EXAMPLE_KNOWN_HOSTS");
    pssh_config *cfg = NULL;
    pssh_parallel *p = NULL;
    pssh_output **outs;
    pssh_cmd_opts opts = PSSH_CMD_OPTS_INIT;
    size_t n, i;
    pssh_err rc;
    int status = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: %s COMMAND HOST...\n", argv[0]);
        return 2;
    }
    n = (size_t)argc - 2;

    /* Settings shared by every host. */
    rc = pssh_config_new(&cfg);
    if (rc == PSSH_OK && key)
        rc = pssh_config_set_pkey_file(cfg, key, NULL);
    if (rc == PSSH_OK && known_hosts)
        rc = pssh_config_set_known_hosts(cfg, known_hosts);
    if (rc == PSSH_OK) /* connect + authenticate, per attempt */
        rc = pssh_config_set_timeout(cfg, 10000);
    if (rc == PSSH_OK) /* loop NULL: the client makes its own */
        rc = pssh_parallel_new(NULL, (const char *const *)argv + 2, n,
                               cfg, NULL, &p);
    pssh_config_free(cfg); /* the client keeps its own copy */
    if (rc != PSSH_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], pssh_strerror(rc));
        return 1;
    }

    /* Every host runs, whatever the others do; lines stream to
     * on_line instead of being kept for pssh_output_read_line(). */
    pssh_parallel_set_stop_on_errors(p, 0);
    pssh_parallel_set_callbacks(p, on_line, NULL, NULL);

    outs = calloc(n, sizeof *outs);
    if (!outs) {
        pssh_parallel_unref(p);
        return 1;
    }
    opts.timeout_ms = 60000; /* the command, from exec until it exits */
    rc = pssh_parallel_run_command(p, argv[1], &opts, outs);
    if (rc == PSSH_OK) /* until every command is over */
        rc = pssh_parallel_join(p, -1, 0, NULL);
    if (rc != PSSH_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], pssh_strerror(rc));
        status = 1;
    }

    for (i = 0; i < n; i++) {
        pssh_output *o = outs[i];
        pssh_err err;

        if (!o)
            continue;
        err = pssh_output_error(o);
        if (err != PSSH_OK) {
            /* The message names the host, the phase and the cause. */
            printf("%s [%s]\n", pssh_output_error_message(o),
                   pssh_err_name(err));
            status = 1;
        } else if (pssh_output_exit_signal(o)) {
            printf("%s: killed by signal %s\n", pssh_output_alias(o),
                   pssh_output_exit_signal(o));
            status = 1;
        } else {
            printf("%s: exit code %d\n", pssh_output_alias(o),
                   pssh_output_exit_code(o));
            if (pssh_output_exit_code(o) != 0)
                status = 1;
        }
        pssh_output_unref(o);
    }
    free(outs);
    /* The last holder of each connection: they close now. */
    pssh_parallel_unref(p);
    return status;
}
