/* For test_proxy: starts a command through a proxy on each target, and
 * calls exit() while they run, with every handle still held.
 *
 *   proxy_exit_helper PROXY KNOWN_HOSTS KEY TARGET...
 *
 * Prints "threads before B" first, "started N" and "fds F" once every
 * command has started, and "threads at exit T" and "fds at exit G" from an
 * atexit handler registered before libpssh's (so it runs after it): T must
 * be B, every forwarder joined, and G = F - (N + 1): the forwarder closed its ends of the N
 * socketpairs and its connection to the proxy. (Its loop's epoll and
 * eventfd stay with the Forwarder that the still-held outputs keep: the
 * owner may still post to it; they go when the last output is released.)
 * Exit status 0. */
#define _GNU_SOURCE
#include <pssh/pssh.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int count(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void *nothing(void *arg) { return arg; }

static void at_exit(void)
{
    printf("threads at exit %d\nfds at exit %d\n", count("/proc/self/task"), count("/proc/self/fd") - 1);
    fflush(stdout);
}

/* What the program still holds at exit(): globals, so that a leak checker
 * sees them as reachable, as they would be in a real program. */
static pssh_config *cfg;
static pssh_parallel *p;
static pssh_output *outs[16];

int main(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    /* ThreadSanitizer starts a thread of its own with the program's first
     * thread: have it running before counting, not mistaken for ours. */
    pthread_t first;
    if (pthread_create(&first, NULL, nothing, NULL) != 0 || pthread_join(first, NULL) != 0)
        return 5;
    printf("threads before %d\n", count("/proc/self/task"));
    atexit(at_exit);
    pssh_config_new(&cfg);
    pssh_config_set_proxy(cfg, argv[1]);
    pssh_config_set_known_hosts(cfg, argv[2]);
    pssh_config_set_pkey_file(cfg, argv[3], NULL);
    pssh_config_set_agent(cfg, 0);
    pssh_config_set_default_identities(cfg, 0);
    pssh_config_set_retries(cfg, 0, 0);
    size_t n = (size_t)argc - 4;
    if (pssh_parallel_new(NULL, (const char *const *)argv + 4, n, cfg, NULL, &p) != PSSH_OK)
        return 3;
    if (n > 16 || pssh_parallel_run_command(p, "echo up; exec sleep 60", NULL, outs) != PSSH_OK)
        return 4;
    size_t started = 0;
    for (size_t i = 0; i < n; i++) {
        const char *line;
        size_t len;
        started += pssh_output_read_line(outs[i], PSSH_STDOUT, &line, &len, 30000) == PSSH_OK;
    }
    printf("started %zu\nfds %d\n", started, count("/proc/self/fd") - 1);
    fflush(stdout);
    exit(0); /* outputs, client and config all still held */
}
