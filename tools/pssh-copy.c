/* pssh-copy: copy local files or trees to many hosts at once (like pscp,
 * pdcp, clush --copy). A thin program over the public libpssh API. */
#include "xfer_tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "pssh-copy";

static void usage(void)
{
    printf("Usage: %s [options] LOCAL... REMOTE\n"
           "Copy LOCAL files (or trees, with -r) to REMOTE on every host at once, over SFTP (or\n"
           "SCP). REMOTE ending in '/' (or given with several LOCALs) is a directory: each LOCAL\n"
           "keeps its name there. Missing remote directories are made. Each file is written\n"
           "under a temporary name and renamed into place once complete.\n\n%s%s",
           prog, cli_conn_help(1), xfer_help);
}

int main(int argc, char **argv)
{
    xfer_tool x = {.prog = prog};
    int first = xfer_parse(&x, argc, argv, usage);
    if (argc - first < 2)
        cli_usage_error(prog, "give LOCAL... REMOTE");
    const char *remote = argv[argc - 1];
    size_t nlocal = (size_t)(argc - first - 1);
    char *dir = NULL;
    if (nlocal > 1 && remote[strlen(remote) - 1] != '/') {
        dir = malloc(strlen(remote) + 2);
        if (!dir)
            return 70;
        sprintf(dir, "%s/", remote);
        remote = dir;
    }
    xfer_start(&x);
    for (size_t i = 0; i < nlocal; i++)
        xfer_run(&x, 1, argv[first + (int)i], remote, NULL, NULL);
    free(dir);
    return xfer_finish(&x);
}
