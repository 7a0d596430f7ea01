#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The copy tools take -p and -r as scp does (preserve, recurse): their
 * port is -P and their retries have only the long form. */
static const char conn_help_format[] =
    "Hosts:\n"
    "  -H, --host [USER@]HOST[:PORT]  a host (repeatable; comma-separated lists and ranges\n"
    "                                 such as web[01-20] or node[1-3,7] are fine)\n"
    "  -h, --hosts FILE               one host or range per line, '#' comments, blank lines ok\n"
    "                                 ('-': stdin)\n"
    "Connection:\n"
    "  -l, --user USER                login user (default: yours)\n"
    "  %s, --port PORT                port (default 22; a port in the host wins)\n"
    "  -i, --identity FILE            private key (repeatable, tried in order)\n"
    "      --password-env VAR         password (and keyboard-interactive) from $VAR\n"
    "  -A, --agent / --no-agent       use ssh-agent (default: when SSH_AUTH_SOCK is set)\n"
    "  -f, --fanout N                 hosts setting up at once (default 100)\n"
    "  -t, --timeout SEC              connect + authentication timeout per attempt (default 60)\n"
    "  -T, --command-timeout SEC      the command's own timeout (default: none)\n"
    "  %s--retries N                attempts after a failed one (default 2; not after a\n"
    "                                 refusal, auth or host key failure)\n"
    "      --retry-delay SEC          pause between attempts (default 5)\n"
    "      --known-hosts FILE         known_hosts file (default ~/.ssh/known_hosts)\n"
    "      --strict-host-key-checking yes|accept-new|no   (default yes)\n"
    "  -F, --ssh-config FILE|none     OpenSSH client configuration to read instead of the\n"
    "                                 tool's default ('none': none); options given here win\n"
    "  -J, --jump [USER@]HOST[:PORT][,...]  through these proxy (jump) hosts, as ssh -J\n"
    "                                 (a proxy's port: 22; its user and keys: the hosts')\n";

const char *cli_conn_help(int copy_tool)
{
    static char text[sizeof conn_help_format + 8];
    snprintf(text, sizeof text, conn_help_format, copy_tool ? "-P" : "-p", copy_tool ? "    " : "-r, ");
    return text;
}

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

void cli_option_error(const char *prog, int opt, char *const *argv)
{
    const char *word = argv[optind - 1];
    char name[64];
    if (word[0] == '-' && word[1] == '-')
        snprintf(name, sizeof name, "%.*s", (int)strcspn(word, "="), word);
    else if (optopt > ' ' && optopt < 127)
        snprintf(name, sizeof name, "-%c", optopt);
    else
        snprintf(name, sizeof name, "%s", word);
    if (opt == ':')
        cli_usage_error(prog, "option '%s' needs an argument", name);
    cli_usage_error(prog, "unknown option '%s'", name);
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

/* ---- Host lists (-H, -h): every host is checked here, and a message shows
 * a bad host escaped and cut, whatever bytes it holds. ---- */

enum { HOST_SHOWN = 60 }; /* characters of a bad host shown in a message */

/* s[0..len) as printable ASCII: other bytes as \xNN, cut after HOST_SHOWN
 * characters with "..." and the length. */
static void shown(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0, k;
    for (k = 0; k < len && k < HOST_SHOWN && o + 8 < cap; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c >= ' ' && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    out[o] = 0;
    if (k < len)
        snprintf(out + o, cap - o, "... (%zu bytes)", len);
}

/* Why h[0..len) is no host (0 when it is one): what the library checks,
 * and before it what it would report less clearly. */
/* Bytes no host or host pattern holds (0 when there is none). */
static int bad_byte(const char *h, size_t len, char *why, size_t cap)
{
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)h[k];
        if (c == 0)
            return snprintf(why, cap, "a NUL byte in a host"), 1;
        if (c < ' ' || c == 0x7f)
            return snprintf(why, cap, "a control character (\\x%02x) in a host", c), 1;
        if (c >= 0x80)
            return snprintf(why, cap, "a byte that is not ASCII (\\x%02x) in a host", c), 1;
    }
    return 0;
}

static int host_problem(const char *h, size_t len, char *why, size_t cap)
{
    if (bad_byte(h, len, why, cap))
        return 1;
    const char *at = memrchr(h, '@', len);
    const char *name = at ? at + 1 : h;
    size_t nlen = len - (size_t)(name - h);
    if (nlen && name[0] != '[') {
        const char *colon = memchr(name, ':', nlen);
        if (colon && memchr(colon + 1, ':', nlen - (size_t)(colon + 1 - name))) {
            /* Two colons or more: an IPv6 address, which takes no port. */
            char addr[INET6_ADDRSTRLEN + 64];
            unsigned char bin[16];
            const char *zone = memchr(name, '%', nlen);
            size_t alen = zone ? (size_t)(zone - name) : nlen;
            snprintf(addr, sizeof addr, "%.*s", (int)(alen < sizeof addr ? alen : sizeof addr - 1), name);
            if (alen >= sizeof addr || inet_pton(AF_INET6, addr, bin) != 1)
                return snprintf(why, cap, "more than one ':' but not an IPv6 address (a port goes after "
                                          "one ':'; an IPv6 address with a port goes in brackets: [ADDR]:PORT)"),
                       1;
            nlen = 0; /* an address: no name to measure */
        } else if (colon) {
            nlen = (size_t)(colon - name);
        }
    }
    if (nlen > 253)
        return snprintf(why, cap, "host name too long: %zu characters (at most 253)", nlen), 1;
    for (size_t k = 0, label = 0; k <= nlen; k++) {
        if (k == nlen || name[k] == '.') {
            if (k - label > 63)
                return snprintf(why, cap, "label too long in host name: %zu characters (at most 63)", k - label), 1;
            label = k + 1;
        }
    }
    char copy[1024];
    if (len >= sizeof copy)
        return snprintf(why, cap, "too long for a host: %zu characters", len), 1;
    memcpy(copy, h, len);
    copy[len] = 0;
    return pssh_host_check(copy, why, cap) != PSSH_OK;
}

static void add_host(cli_conn *c, const char *h, size_t len, const char *file, unsigned line)
{
    char why[512], show[HOST_SHOWN * 4 + 64];
    if (host_problem(h, len, why, sizeof why)) {
        shown(h, len, show, sizeof show);
        if (file)
            cli_usage_error(c->prog, "%s:%u: host '%s': %s", file, line, show, why);
        cli_usage_error(c->prog, "malformed host '%s': %s", show, why);
    }
    char *copy = strndup(h, len);
    if (!copy)
        out_of_memory();
    cli_list_add(&c->hosts, copy);
    free(copy);
}

/* A host pattern: a host, a range, a comma list (pssh_hosts_expand(3)).
 * Its bytes are checked first, so a message shows them escaped; then each
 * host it gives is checked as above. */
typedef struct {
    cli_conn *c;
    const char *file;
    unsigned line;
} pattern_sink;

static int add_expanded(const char *h, unsigned line, void *ud)
{
    pattern_sink *p = ud;
    (void)line;
    add_host(p->c, h, strlen(h), p->file, p->line);
    return 0;
}

static void add_pattern(cli_conn *c, const char *pat, size_t len, const char *file, unsigned line)
{
    char why[512], show[HOST_SHOWN * 4 + 64];
    if (bad_byte(pat, len, why, sizeof why) || len > 4096) {
        if (len > 4096)
            snprintf(why, sizeof why, "too long for a host: %zu characters", len);
        shown(pat, len, show, sizeof show);
        if (file)
            cli_usage_error(c->prog, "%s:%u: host '%s': %s", file, line, show, why);
        cli_usage_error(c->prog, "malformed host '%s': %s", show, why);
    }
    char *copy = strndup(pat, len);
    if (!copy)
        out_of_memory();
    pattern_sink sink = {c, file, line};
    pssh_err rc = pssh_hosts_expand(copy, add_expanded, &sink, why, sizeof why);
    free(copy);
    if (rc != PSSH_OK) {
        if (file)
            cli_usage_error(c->prog, "%s:%u: %s", file, line, why);
        cli_usage_error(c->prog, "%s", why);
    }
}

/* -H: a host pattern (a comma list of hosts and ranges). */
static void add_hosts_arg(cli_conn *c, const char *arg) { add_pattern(c, arg, strlen(arg), NULL, 0); }

/* -h: one host pattern per line, '#' comments, blank lines; "-" is stdin. The
 * format of pssh_hosts_read_file(3), read here so that a bad line is
 * reported with every byte it holds. */
static void add_hosts_file(cli_conn *c, const char *path)
{
    int is_stdin = !strcmp(path, "-");
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "re");
    if (!f)
        cli_usage_error(c->prog, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned line = 0;
    errno = 0;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        line++;
        size_t len = (size_t)n;
        const char *hash = memchr(buf, '#', len);
        if (hash)
            len = (size_t)(hash - buf);
        size_t b = 0;
        while (b < len && strchr(" \t\r\n", buf[b]) && buf[b])
            b++;
        while (len > b && strchr(" \t\r\n", buf[len - 1]) && buf[len - 1])
            len--;
        if (len > b)
            add_pattern(c, buf + b, len - b, name, line);
    }
    int err = ferror(f) ? errno : 0;
    free(buf);
    if (!is_stdin)
        fclose(f);
    if (err)
        cli_usage_error(c->prog, "%s: %s", name, strerror(err));
}

/* ---- end of host lists ---- */

int cli_conn_option(cli_conn *c, int opt, const char *arg)
{
    int ms;
    switch (opt) {
    case 'H':
        add_hosts_arg(c, arg);
        return 1;
    case 'h':
        add_hosts_file(c, arg);
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
    case 'F':
        if (!*arg)
            cli_usage_error(c->prog, "empty ssh_config file name");
        c->ssh_config = arg;
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
    /* A key that cannot be used is skipped, with one warning, as ssh does:
     * configured, it would fail every host. */
    c->identities_given = c->identities.n > 0;
    size_t kept = 0;
    for (size_t i = 0; i < c->identities.n; i++) {
        char why[512];
        pssh_err rc = pssh_key_check(c->identities.v[i], NULL, why, sizeof why);
        if (rc == PSSH_OK) {
            c->identities.v[kept++] = c->identities.v[i];
            continue;
        }
        fprintf(stderr, "%s: warning: skipping identity %s [%s]\n", c->prog, why, pssh_err_name(rc));
        cli_list_add(&c->skipped_keys, why);
        free(c->identities.v[i]);
    }
    c->identities.n = kept;
    if (c->password_env && !getenv(c->password_env))
        cli_usage_error(c->prog, "--password-env %s: the variable is not set", c->password_env);
    /* As ssh -F: a file named on the command line must be there. */
    if (c->ssh_config && strcmp(c->ssh_config, "none") != 0 && access(c->ssh_config, R_OK) != 0)
        cli_usage_error(c->prog, "ssh_config %s: %s", c->ssh_config, strerror(errno));
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
    if (c->identities_given) /* -i, even if every key was skipped: no default identities */
        pssh_config_set_default_identities(cfg, 0);
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
    /* ssh's files, resolved per host by the library under the options set
     * above (-F FILE: that file only, as with ssh; -F none: no file). */
    static const char *const ssh_default[] = {"~/.ssh/config", "/etc/ssh/ssh_config", NULL};
    const char *given[] = {c->ssh_config, NULL};
    if (c->ssh_config && strcmp(c->ssh_config, "none") != 0)
        pssh_config_set_ssh_config(cfg, given);
    else if (!c->ssh_config && c->ssh_config_default)
        pssh_config_set_ssh_config(cfg, ssh_default);
    if (c->jump)
        pssh_config_set_proxy(cfg, c->jump);
    return cfg;
}

void cli_skipped_keys_note(const cli_conn *c, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < c->skipped_keys.n && o + 1 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "; " : " (unusable identities skipped: ",
                              c->skipped_keys.v[i]);
    if (c->skipped_keys.n && o + 1 < cap)
        snprintf(out + o, cap - o, ")");
}

size_t cli_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
        else if (rl.rlim_cur < 1048576) { /* an unlimited hard limit the kernel caps (nr_open) */
            want.rlim_cur = 1048576;
            if (setrlimit(RLIMIT_NOFILE, &want) == 0)
                rl = want;
        }
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)rl.rlim_cur;
}

static void warn_to_stderr(pssh_log_level level, const char *msg, void *prog)
{
    fprintf(stderr, "%s: %s: %s\n", (const char *)prog, level == PSSH_LOG_ERROR ? "error" : "warning", msg);
}

pssh_loop *cli_make_loop(const cli_conn *c)
{
    pssh_loop *loop = NULL;
    pssh_err rc = pssh_loop_new(&loop);
    if (rc != PSSH_OK) {
        fprintf(stderr, "%s: %s\n", c->prog, pssh_strerror(rc));
        exit(70);
    }
    const char *debug = getenv("PSSH_DEBUG");
    if (!debug || !*debug)
        pssh_loop_set_log(loop, PSSH_LOG_WARN, warn_to_stderr, (void *)c->prog);
    return loop;
}

void cli_free(cli_conn *c)
{
    for (size_t i = 0; i < c->hosts.n; i++)
        free(c->hosts.v[i]);
    for (size_t i = 0; i < c->identities.n; i++)
        free(c->identities.v[i]);
    for (size_t i = 0; i < c->skipped_keys.n; i++)
        free(c->skipped_keys.v[i]);
    free(c->hosts.v);
    free(c->identities.v);
    free(c->skipped_keys.v);
}
