/* What pssh-run and pssh-stress (and later pssh-copy) share: host lists and
 * the connection options, turned into a pssh_config. Plain C over the
 * public header. */
#ifndef PSSH_TOOLS_CLI_H
#define PSSH_TOOLS_CLI_H

#include <getopt.h>
#include <pssh/pssh.h>
#include <stddef.h>

#define CLI_USAGE 64 /* EX_USAGE */

typedef struct {
    char **v;
    size_t n, cap;
} cli_list;

typedef struct {
    const char *prog;
    cli_list hosts;
    const char *user;
    int port;                 /* 0: unset */
    cli_list identities;      /* after cli_conn_check: the usable ones */
    cli_list skipped_keys;    /* why each unusable -i key was skipped */
    int identities_given;
    const char *password_env;
    int agent;                /* -1 unset, 0, 1 */
    size_t fanout;            /* 0: default */
    int timeout_ms;           /* -1 unset */
    int command_timeout_ms;   /* 0: none */
    int retries;              /* -1 unset */
    int retry_delay_ms;       /* -1 unset */
    const char *known_hosts;
    int policy;               /* -1 unset */
    const char *ssh_config;   /* -F FILE or "none"; NULL: the tool's default */
    int ssh_config_default;   /* without -F: read ~/.ssh/config, /etc/ssh/ssh_config */
    const char *jump;         /* -J: proxy chain, NULL: direct */
} cli_conn;

/* Long-option ids above the char range. */
enum {
    CLI_OPT_PASSWORD_ENV = 1000,
    CLI_OPT_NO_AGENT,
    CLI_OPT_RETRY_DELAY,
    CLI_OPT_KNOWN_HOSTS,
    CLI_OPT_STRICT,
    CLI_OPT_VERSION,
    CLI_OPT_HELP,
    CLI_OPT_TOOL_BASE = 1100 /* tools number their own options from here */
};

/* getopt strings start with "+:" (stop at the command; ':' for a missing
 * argument, see cli_option_error). */
#define CLI_CONN_SHORTOPTS "H:h:l:p:i:Af:t:T:r:F:J:"
#define CLI_CONN_LONGOPTS                                                                          \
    {"host", required_argument, 0, 'H'}, {"hosts", required_argument, 0, 'h'},                     \
        {"user", required_argument, 0, 'l'}, {"port", required_argument, 0, 'p'},                  \
        {"identity", required_argument, 0, 'i'},                                                   \
        {"password-env", required_argument, 0, CLI_OPT_PASSWORD_ENV},                              \
        {"agent", no_argument, 0, 'A'}, {"no-agent", no_argument, 0, CLI_OPT_NO_AGENT},            \
        {"fanout", required_argument, 0, 'f'}, {"timeout", required_argument, 0, 't'},             \
        {"command-timeout", required_argument, 0, 'T'}, {"retries", required_argument, 0, 'r'},    \
        {"retry-delay", required_argument, 0, CLI_OPT_RETRY_DELAY},                                \
        {"known-hosts", required_argument, 0, CLI_OPT_KNOWN_HOSTS},                                \
        {"strict-host-key-checking", required_argument, 0, CLI_OPT_STRICT},                        \
        {"ssh-config", required_argument, 0, 'F'},                                                 \
        {"jump", required_argument, 0, 'J'},                                                       \
        {"version", no_argument, 0, CLI_OPT_VERSION}, {"help", no_argument, 0, CLI_OPT_HELP}

/* Text for --help: the connection options. */
const char *cli_conn_help(int copy_tool);

void cli_init(cli_conn *c, const char *prog);
/* Handles a common option: 1 handled, 0 not one of ours. Usage errors exit
 * with CLI_USAGE after a message. */
int cli_conn_option(cli_conn *c, int opt, const char *arg);
/* After parsing: hosts given, identity files readable, password present.
 * Exits CLI_USAGE with a message otherwise. A key that is readable but
 * unusable (not a key, encrypted) is dropped with one warning on stderr. */
void cli_conn_check(cli_conn *c);
/* " (unusable identities skipped: WHY; WHY)", or "" when none was: for the
 * message of a host whose authentication failed. */
void cli_skipped_keys_note(const cli_conn *c, char *out, size_t cap);
/* Raises the soft limit of open descriptors to the hard one, as most
 * servers do; returns the soft limit in force. */
size_t cli_raise_nofile(void);
/* The config for these options (exits on out of memory). */
pssh_config *cli_make_config(const cli_conn *c);
/* A loop whose warnings (ssh_config keywords libpssh does not honour, ...)
 * go to stderr, unless PSSH_DEBUG chose its own logging. Exits on failure. */
pssh_loop *cli_make_loop(const cli_conn *c);
void cli_free(cli_conn *c);

void cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* getopt_long returned ':' (missing argument) or '?' (unknown option). */
void cli_option_error(const char *prog, int opt, char *const *argv) __attribute__((noreturn));
void cli_list_add(cli_list *l, const char *s);
/* Seconds as "12", "0.5" -> milliseconds; -1 when malformed. */
int cli_seconds_ms(const char *s);

#endif
