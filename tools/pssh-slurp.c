/* pssh-slurp: fetch a remote file or tree from many hosts at once (like
 * pslurp, rpdcp), into LOCALDIR/HOST/NAME, or LOCALDIR/NAME_HOST with
 * --suffix. A thin program over the public libpssh API. */
#include "xfer_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *prog = "pssh-slurp";

static void usage(void)
{
    printf("Usage: %s [options] REMOTE LOCALDIR\n"
           "Fetch REMOTE (a file, or a tree with -r) from every host at once, over SFTP (or\n"
           "SCP), into LOCALDIR/HOST/NAME (NAME: REMOTE's last component; HOST: the host as\n"
           "given, '/' made '_'). Files are written under a temporary name and renamed into\n"
           "place once complete.\n\n%s%s"
           "      --suffix                   write LOCALDIR/NAME_HOST instead (parallel-ssh's layout)\n",
           prog, cli_conn_help(1), xfer_help);
}

static char *base_name(const char *p)
{
    size_t end = strlen(p);
    while (end > 1 && p[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && p[start - 1] != '/')
        start--;
    char *s = strndup(p + start, end - start);
    if (!s)
        exit(70);
    return s;
}

static void make_dir(const char *d)
{
    if (mkdir(d, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, d, strerror(errno));
        exit(73);
    }
}

int main(int argc, char **argv)
{
    int suffix = 0;
    /* --suffix is ours alone: taken out before the shared parser runs. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--suffix")) {
            suffix = 1;
            memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof *argv);
            argc--;
            i--;
        }
    }
    xfer_tool x = {.prog = prog};
    int first = xfer_parse(&x, argc, argv, usage);
    if (argc - first != 2)
        cli_usage_error(prog, "give REMOTE LOCALDIR");
    const char *remote = argv[first], *localdir = argv[first + 1];
    make_dir(localdir);
    char *name = base_name(remote);
    xfer_start(&x);
    size_t n = x.conn.hosts.n;
    if (suffix) {
        char *local = malloc(strlen(localdir) + strlen(name) + 2);
        if (!local)
            return 70;
        sprintf(local, "%s/%s", localdir, name);
        xfer_run(&x, 0, local, remote, "_", NULL);
        free(local);
    } else {
        pssh_copy_arg *args = calloc(n, sizeof *args);
        char **paths = calloc(n, sizeof *paths);
        if (!args || !paths)
            return 70;
        for (size_t i = 0; i < n; i++) {
            const char *h = x.conn.hosts.v[i];
            size_t len = strlen(localdir) + strlen(h) + strlen(name) + 3;
            char *d = malloc(len);
            paths[i] = malloc(len);
            if (!d || !paths[i])
                return 70;
            snprintf(d, len, "%s/%s", localdir, h);
            for (char *c = d + strlen(localdir) + 1; *c; c++)
                if (*c == '/')
                    *c = '_';
            make_dir(d);
            snprintf(paths[i], len, "%s/%s", d, name);
            free(d);
            args[i].local = paths[i];
            args[i].remote = remote;
        }
        xfer_run(&x, 0, NULL, NULL, NULL, args);
        for (size_t i = 0; i < n; i++)
            free(paths[i]);
        free(paths);
        free(args);
    }
    free(name);
    return xfer_finish(&x);
}
