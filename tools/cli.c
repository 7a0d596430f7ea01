#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cli_conn_help[] =
    "Hosts:\n"
    "  -H, --host [USER@]HOST[:PORT]  a host (repeatable; comma-separated lists are fine)\n"
    "  -h, --hosts FILE               one host per line, '#' comments, blank lines ok ('-': stdin)\n"
    "Connection:\n"
    "  -l, --user USER                login user (default: yours)\n"
    "  -p, --port PORT                port (default 22; a port in the host wins)\n"
    "  -i, --identity FILE            private key (repeatable, tried in order)\n"
    "      --password-env VAR         password (and keyboard-interactive) from $VAR\n"
    "  -A, --agent / --no-agent       use ssh-agent (default: when SSH_AUTH_SOCK is set)\n"
    "  -f, --fanout N                 hosts setting up at once (default 100)\n"
    "  -t, --timeout SEC              connect + authentication timeout per attempt (default 60)\n"
    "  -T, --command-timeout SEC      the command's own timeout (default: none)\n"
    "  -r, --retries N                attempts after a failed one (default 2; not after a\n"
    "                                 refusal, auth or host key failure)\n"
    "      --retry-delay SEC          pause between attempts (default 5)\n"
    "      --known-hosts FILE         known_hosts file (default ~/.ssh/known_hosts)\n"
    "      --strict-host-key-checking yes|accept-new|no   (default yes)\n"
    "  -J, --jump [USER@]HOST[:PORT][,...]  through these proxy (jump) hosts, as ssh -J\n"
    "                                 (a proxy's port: 22; its user and keys: the hosts')\n";

void cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    va_end(ap);
    exit(CLI_USAGE);
}

static void out_of_memory(void)
{
    fprintf(stderr, "out of memory\n");
    exit(70);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        out_of_memory();
    return p;
}

void cli_list_add(cli_list *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n])
        out_of_memory();
    l->n++;
}

int cli_seconds_ms(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0 || v > 86400 * 30)
        return -1;
    return (int)(v * 1000 + 0.5);
}

static long parse_int(const char *prog, const char *what, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        cli_usage_error(prog, "bad %s '%s' (expected %ld-%ld)", what, s, lo, hi);
    return v;
}

void cli_init(cli_conn *c, const char *prog)
{
    memset(c, 0, sizeof *c);
    c->prog = prog;
    c->agent = c->timeout_ms = c->retries = c->retry_delay_ms = c->policy = -1;
}

static void add_hosts(cli_conn *c, const char *arg)
{
    char *copy = strdup(arg), *save = NULL;
    for (char *h = strtok_r(copy, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
        while (*h == ' ')
            h++;
        char why[256];
        if (pssh_host_check(h, why, sizeof why) != PSSH_OK)
            cli_usage_error(c->prog, "malformed host '%s': %s", h, why);
        cli_list_add(&c->hosts, h);
    }
    free(copy);
}

static int add_file_host(const char *host, unsigned line, void *ud)
{
    (void)line;
    cli_list_add(&((cli_conn *)ud)->hosts, host);
    return 0;
}

int cli_conn_option(cli_conn *c, int opt, const char *arg)
{
    char why[512];
    int ms;
    switch (opt) {
    case 'H':
        add_hosts(c, arg);
        return 1;
    case 'h':
        if (pssh_hosts_read_file(arg, add_file_host, c, why, sizeof why) != PSSH_OK)
            cli_usage_error(c->prog, "%s", why);
        return 1;
    case 'l':
        if (!*arg)
            cli_usage_error(c->prog, "empty user");
        c->user = arg;
        return 1;
    case 'p':
        c->port = (int)parse_int(c->prog, "port", arg, 1, 65535);
        return 1;
    case 'i':
        cli_list_add(&c->identities, arg);
        return 1;
    case CLI_OPT_PASSWORD_ENV:
        c->password_env = arg;
        return 1;
    case 'A':
        c->agent = 1;
        return 1;
    case CLI_OPT_NO_AGENT:
        c->agent = 0;
        return 1;
    case 'f':
        c->fanout = (size_t)parse_int(c->prog, "fanout", arg, 1, 100000);
        return 1;
    case 't':
    case 'T':
    case CLI_OPT_RETRY_DELAY:
        if ((ms = cli_seconds_ms(arg)) < 0)
            cli_usage_error(c->prog, "bad number of seconds '%s'", arg);
        if (opt == 't')
            c->timeout_ms = ms;
        else if (opt == 'T')
            c->command_timeout_ms = ms;
        else
            c->retry_delay_ms = ms;
        return 1;
    case 'r':
        c->retries = (int)parse_int(c->prog, "retries", arg, 0, 100);
        return 1;
    case CLI_OPT_KNOWN_HOSTS:
        c->known_hosts = arg;
        return 1;
    case 'J': {
        pssh_config *probe = NULL; /* the library's own syntax check */
        pssh_err e = pssh_config_new(&probe) == PSSH_OK ? pssh_config_set_proxy(probe, arg) : PSSH_E_NOMEM;
        pssh_config_free(probe);
        if (e != PSSH_OK)
            cli_usage_error(c->prog, "malformed -J '%s' (expected [USER@]HOST[:PORT][,...], at most 8)", arg);
        c->jump = arg;
        return 1;
    }
    case CLI_OPT_STRICT:
        if (!strcmp(arg, "yes"))
            c->policy = PSSH_HOSTKEY_STRICT;
        else if (!strcmp(arg, "accept-new"))
            c->policy = PSSH_HOSTKEY_ACCEPT_NEW;
        else if (!strcmp(arg, "no") || !strcmp(arg, "off"))
            c->policy = PSSH_HOSTKEY_OFF;
        else
            cli_usage_error(c->prog, "--strict-host-key-checking takes yes, accept-new or no, not '%s'", arg);
        return 1;
    }
    return 0;
}

void cli_conn_check(cli_conn *c)
{
    if (c->hosts.n == 0)
        cli_usage_error(c->prog, "no hosts (give -H HOST or -h FILE)");
    for (size_t i = 0; i < c->identities.n; i++)
        if (access(c->identities.v[i], R_OK) != 0)
            cli_usage_error(c->prog, "identity file %s: %s", c->identities.v[i], strerror(errno));
    if (c->password_env && !getenv(c->password_env))
        cli_usage_error(c->prog, "--password-env %s: the variable is not set", c->password_env);
}

pssh_config *cli_make_config(const cli_conn *c)
{
    pssh_config *cfg = NULL;
    if (pssh_config_new(&cfg) != PSSH_OK) {
        fprintf(stderr, "%s: out of memory\n", c->prog);
        exit(70);
    }
    if (c->user)
        pssh_config_set_user(cfg, c->user);
    if (c->port)
        pssh_config_set_port(cfg, c->port);
    for (size_t i = 0; i < c->identities.n; i++) {
        if (i == 0)
            pssh_config_set_pkey_file(cfg, c->identities.v[0], NULL);
        else
            pssh_config_add_identity_file(cfg, c->identities.v[i]);
    }
    if (c->password_env)
        pssh_config_set_password(cfg, getenv(c->password_env));
    if (c->agent >= 0)
        pssh_config_set_agent(cfg, c->agent);
    if (c->timeout_ms >= 0)
        pssh_config_set_timeout(cfg, c->timeout_ms);
    if (c->retries >= 0 || c->retry_delay_ms >= 0)
        pssh_config_set_retries(cfg, c->retries >= 0 ? c->retries : 2,
                                c->retry_delay_ms >= 0 ? c->retry_delay_ms : 5000);
    if (c->known_hosts)
        pssh_config_set_known_hosts(cfg, c->known_hosts);
    if (c->policy >= 0)
        pssh_config_set_host_key_policy(cfg, (pssh_host_key_policy)c->policy);
    if (c->jump)
        pssh_config_set_proxy(cfg, c->jump);
    return cfg;
}

void cli_free(cli_conn *c)
{
    for (size_t i = 0; i < c->hosts.n; i++)
        free(c->hosts.v[i]);
    for (size_t i = 0; i < c->identities.n; i++)
        free(c->identities.v[i]);
    free(c->hosts.v);
    free(c->identities.v);
}
