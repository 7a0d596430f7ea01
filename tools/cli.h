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
    cli_list identities;
    const char *password_env;
    int agent;                /* -1 unset, 0, 1 */
    size_t fanout;            /* 0: default */
    int timeout_ms;           /* -1 unset */
    int command_timeout_ms;   /* 0: none */
    int retries;              /* -1 unset */
    int retry_delay_ms;       /* -1 unset */
    const char *known_hosts;
    int policy;               /* -1 unset */
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

#define CLI_CONN_SHORTOPTS "H:h:l:p:i:Af:t:T:r:J:"
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
        {"jump", required_argument, 0, 'J'},                                                       \
        {"version", no_argument, 0, CLI_OPT_VERSION}, {"help", no_argument, 0, CLI_OPT_HELP}

/* Text for --help: the connection options. */
extern const char cli_conn_help[];

void cli_init(cli_conn *c, const char *prog);
/* Handles a common option: 1 handled, 0 not one of ours. Usage errors exit
 * with CLI_USAGE after a message. */
int cli_conn_option(cli_conn *c, int opt, const char *arg);
/* After parsing: hosts given, identity files readable, password present.
 * Exits CLI_USAGE with a message otherwise. */
void cli_conn_check(cli_conn *c);
/* The config for these options (exits on out of memory). */
pssh_config *cli_make_config(const cli_conn *c);
void cli_free(cli_conn *c);

void cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void cli_list_add(cli_list *l, const char *s);
/* Seconds as "12", "0.5" -> milliseconds; -1 when malformed. */
int cli_seconds_ms(const char *s);

#endif
