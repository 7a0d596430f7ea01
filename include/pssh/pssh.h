/* libpssh: run commands on many SSH hosts at once, from one thread.
 *
 * Conventions (read these first)
 * - Handles are opaque. Objects with a _ref/_unref pair are reference
 *   counted: _ref returns its argument, _unref accepts NULL and returns NULL,
 *   so `c = pssh_client_unref(c);` is the idiom. The last unref releases.
 *   An output holds its connection: after its client is released the output
 *   stays readable, and the connection closes when its last holder lets go.
 * - Errors: calls return a pssh_err (0 = PSSH_OK, negative = error class,
 *   PSSH_EOF = 1 is "end of stream", not an error). pssh_strerror() names a
 *   class. Each host's failure also carries a message (host, phase, cause)
 *   owned by the handle that reports it. No call aborts or throws.
 * - Strings returned by the library are borrowed from the handle that
 *   returned them and stay valid as long as the text of that function says;
 *   nothing returned by libpssh is freed by the caller with free().
 * - Threads: a pssh_loop and every client and output made on it belong to one
 *   thread at a time. pssh_loop_wakeup() is the only call that may be made
 *   from another thread. Different loops may run in different threads.
 * - Blocking calls (connect, run_command, read, wait) run the loop while they
 *   wait, so every other client on the same loop makes progress meanwhile.
 *   Calling a blocking function from inside a libpssh callback (log, line,
 *   exit) returns PSSH_E_BUSY and changes nothing: no command starts, no
 *   output array is written, no option (such as discarding) is switched.
 *   A callback may release any handle, including the one whose blocking
 *   call is running: that call holds what it needs until it returns.
 * - Two kinds of timeout: a call's own timeout (the timeout_ms argument of
 *   a read, wait or write) and a host's deadlines (config timeout, command
 *   timeout). A call that can also return a host's error class reports its
 *   own timeout as PSSH_E_AGAIN (nothing lost: call again), so
 *   PSSH_E_TIMEOUT from it always means that a host's deadline fired and
 *   the host is over. Calls that never return a host's class (join,
 *   pssh_loop_run) report their own timeout as PSSH_E_TIMEOUT.
 * - Timeouts are in milliseconds. Which timeout bounds what:
 *     config timeout     each connection attempt: resolve + TCP connect +
 *                        SSH handshake + host key check + authentication;
 *                        and, for each command, opening its channel through
 *                        exec (0 = no limit: a silent host then waits for
 *                        ever);
 *     retries, delay     further attempts after a failed one (not after a
 *                        refusal, an authentication or a host key failure);
 *     command timeout    one command, from exec until it exits (0 = none);
 *     read timeout       one read call (stdout/stderr line or bytes):
 *                        PSSH_E_AGAIN;
 *     wait timeout       one pssh_output_wait() call: PSSH_E_AGAIN.
 *   Closing a connection never blocks the caller.
 */
#ifndef PSSH_PSSH_H
#define PSSH_PSSH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PSSH_BUILDING) && defined(__GNUC__)
#define PSSH_API __attribute__((visibility("default")))
#else
#define PSSH_API
#endif

#if defined(__GNUC__) && !defined(PSSH_BUILDING)
#define PSSH_DEPRECATED(since, msg) __attribute__((deprecated("since " since ": " msg)))
#else
#define PSSH_DEPRECATED(since, msg)
#endif

#define PSSH_VERSION_MAJOR 0
#define PSSH_VERSION_MINOR 1
#define PSSH_VERSION_PATCH 0
#define PSSH_VERSION_NUM 0x000100 /* 0xMMmmpp */
#define PSSH_VERSION_STR "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

/* Append only, never renumber. */
typedef enum pssh_err {
    PSSH_OK = 0,
    PSSH_EOF = 1,                /* end of stream: not an error */
    PSSH_E_INVAL = -1,           /* invalid argument */
    PSSH_E_NOMEM = -2,           /* out of memory */
    PSSH_E_UNKNOWN_HOST = -3,    /* the host name does not resolve */
    PSSH_E_CONNECT = -4,         /* TCP connection failed (unreachable, reset) */
    PSSH_E_REFUSED = -5,         /* connection refused (never retried) */
    PSSH_E_TIMEOUT = -6,         /* a deadline passed; the message names the phase */
    PSSH_E_SESSION = -7,         /* SSH protocol failure: banner, key exchange */
    PSSH_E_HOSTKEY = -8,         /* host key mismatch (of any known type) or revoked */
    PSSH_E_HOSTKEY_UNKNOWN = -9, /* host not in known_hosts under the strict policy */
    PSSH_E_AUTH = -10,           /* the server refused every credential offered */
    PSSH_E_PKEY = -11,           /* private key file missing, unreadable or malformed */
    PSSH_E_PASSPHRASE = -12,     /* private key encrypted: passphrase missing or wrong */
    PSSH_E_KEY_ALGO = -13,       /* key algorithm the server or libssh2 cannot use */
    PSSH_E_CHANNEL = -14,        /* channel open, pty or exec refused by the server */
    PSSH_E_LOST = -15,           /* connection lost after it was established */
    PSSH_E_PROXY = -16,          /* proxy (jump host) failure */
    PSSH_E_SFTP = -17,           /* SFTP failure */
    PSSH_E_SCP = -18,            /* SCP failure */
    PSSH_E_SHELL = -19,          /* interactive shell failure */
    PSSH_E_HOST_ARG = -20,       /* malformed host, or host arguments that do not match */
    PSSH_E_IO = -21,             /* local I/O error (files) */
    PSSH_E_RESOURCE = -22,       /* out of descriptors, threads or similar */
    PSSH_E_BUSY = -23,           /* blocking call made from inside a callback */
    PSSH_E_STATE = -24,          /* not valid in this state (stdin closed, not finished) */
    PSSH_E_FULL = -25,           /* output buffer full: read it, or wait with discard */
    PSSH_E_INTERNAL = -26,       /* a bug in libpssh: please report it */
    PSSH_E_AGAIN = -27           /* this call's own timeout passed: nothing lost, call
                                    again (added in 0.2) */
} pssh_err;

/* Static description of an error class; never NULL ("unknown error" for an
 * unknown value). */
PSSH_API const char *pssh_strerror(pssh_err err);
/* Static name of the enum value ("PSSH_E_AUTH"); never NULL. */
PSSH_API const char *pssh_err_name(pssh_err err);
/* The library's version string, e.g. "0.1.0 (libssh2 1.10.0)". */
PSSH_API const char *pssh_version(void);
/* PSSH_VERSION_NUM of the library actually linked. */
PSSH_API unsigned pssh_version_num(void);

/* ------------------------------------------------------------------------ */
/* Opaque handles                                                           */

typedef struct pssh_loop pssh_loop;
typedef struct pssh_config pssh_config;
typedef struct pssh_client pssh_client;
typedef struct pssh_output pssh_output;
typedef struct pssh_parallel pssh_parallel;

/* ------------------------------------------------------------------------ */
/* The loop: one reactor (epoll or kqueue), nestable in a caller's own loop */

typedef enum pssh_log_level {
    PSSH_LOG_ERROR = 0,
    PSSH_LOG_WARN = 1,
    PSSH_LOG_INFO = 2,
    PSSH_LOG_DEBUG = 3,
    PSSH_LOG_TRACE = 4
} pssh_log_level;

/* A log line (no newline). Called on the loop's thread. */
typedef void pssh_log_fn(pssh_log_level level, const char *msg, void *userdata);

/* Create a loop. Release with pssh_loop_unref(). */
PSSH_API pssh_err pssh_loop_new(pssh_loop **out);
PSSH_API pssh_loop *pssh_loop_ref(pssh_loop *loop);
PSSH_API pssh_loop *pssh_loop_unref(pssh_loop *loop);
/* Send log lines up to `max` to fn (NULL: stop logging). */
PSSH_API pssh_err pssh_loop_set_log(pssh_loop *loop, pssh_log_level max, pssh_log_fn *fn,
                                    void *userdata);
/* The pollable descriptor (epoll/kqueue): readable when run_once has work.
 * Borrowed: do not close it. */
PSSH_API int pssh_loop_fd(const pssh_loop *loop);
/* Milliseconds until the next deadline (-1: none, 0: work is ready now). */
PSSH_API int pssh_loop_timeout_ms(const pssh_loop *loop);
/* Wait at most timeout_ms (0: do not wait, -1: no limit) and run whatever
 * is ready. PSSH_OK whether or not anything ran. */
PSSH_API pssh_err pssh_loop_run_once(pssh_loop *loop, int timeout_ms);
/* Run until nothing is left to do (no connection in progress, no command
 * running, no timer) or timeout_ms passes (PSSH_E_TIMEOUT; -1: no limit). */
PSSH_API pssh_err pssh_loop_run(pssh_loop *loop, int timeout_ms);
/* Make a pssh_loop_run_once() blocked in another thread return (a
 * pssh_loop_run() checks its condition and goes on waiting). Safe from any
 * thread. */
PSSH_API pssh_err pssh_loop_wakeup(pssh_loop *loop);

/* ------------------------------------------------------------------------ */
/* Host configuration (parallel-ssh's HostConfig)                           */
/* A config only records what was set: a later merge (per-host settings over
 * defaults) lets every value that is set win, false and 0 included. The
 * client copies the config when it is made; the caller keeps ownership. */

typedef enum pssh_host_key_policy {
    PSSH_HOSTKEY_STRICT = 0,     /* unknown host: refused (default) */
    PSSH_HOSTKEY_ACCEPT_NEW = 1, /* unknown host: key appended to known_hosts */
    PSSH_HOSTKEY_OFF = 2         /* no check at all (test rigs only) */
} pssh_host_key_policy;
/* Under STRICT and ACCEPT_NEW, a changed or revoked key is always refused
 * (PSSH_E_HOSTKEY), and so is a known host's key of a type known_hosts does
 * not hold for it, as ssh does: the types known are asked for first. */

PSSH_API pssh_err pssh_config_new(pssh_config **out);
PSSH_API pssh_err pssh_config_dup(const pssh_config *cfg, pssh_config **out);
PSSH_API void pssh_config_free(pssh_config *cfg);
/* Login user (default: the user running the process). */
PSSH_API pssh_err pssh_config_set_user(pssh_config *cfg, const char *user);
/* TCP port, 1..65535 (default 22). A port in the host string wins. */
PSSH_API pssh_err pssh_config_set_port(pssh_config *cfg, int port);
/* Password for "password" and "keyboard-interactive" authentication. */
PSSH_API pssh_err pssh_config_set_password(pssh_config *cfg, const char *password);
/* Private key file (OpenSSH or PEM; ed25519 or ECDSA with libssh2 1.10),
 * read when a connection starts. passphrase may be NULL; it is also used for
 * the identity files. */
PSSH_API pssh_err pssh_config_set_pkey_file(pssh_config *cfg, const char *path,
                                            const char *passphrase);
/* Private key held in memory (copied). passphrase may be NULL. */
PSSH_API pssh_err pssh_config_set_pkey_memory(pssh_config *cfg, const void *data, size_t len,
                                              const char *passphrase);
/* A further key file tried after the private key (repeatable). Like the
 * private key, it must be readable: a missing one fails the connection with
 * PSSH_E_PKEY. A per-host list replaces the default list. */
PSSH_API pssh_err pssh_config_add_identity_file(pssh_config *cfg, const char *path);
/* Reads the key file at path with the checks a connection makes on a
 * configured key (passphrase may be NULL): PSSH_OK, or PSSH_E_PKEY,
 * PSSH_E_PASSPHRASE, PSSH_E_KEY_ALGO, PSSH_E_RESOURCE with the reason in why
 * (may be NULL). Nothing is kept. (Added in 0.2.) */
PSSH_API pssh_err pssh_key_check(const char *path, const char *passphrase, char *why, size_t whylen);
/* Use the ssh-agent at $SSH_AUTH_SOCK (default on when it is set). */
PSSH_API pssh_err pssh_config_set_agent(pssh_config *cfg, int enable);
/* Try ~/.ssh/id_ed25519, id_ecdsa, id_rsa when no key is configured
 * (default on, as parallel-ssh's identity_auth). */
PSSH_API pssh_err pssh_config_set_default_identities(pssh_config *cfg, int enable);
/* Deadline of each connection attempt, connect through authentication
 * (default 60000; 0 = none). */
PSSH_API pssh_err pssh_config_set_timeout(pssh_config *cfg, int timeout_ms);
/* Attempts after the first failed one, and the pause between them (default
 * 2 retries 5000 ms apart: 3 attempts in all, parallel-ssh's num_retries=3).
 * Only name resolution, TCP, timeout and handshake failures are retried. */
PSSH_API pssh_err pssh_config_set_retries(pssh_config *cfg, int retries, int delay_ms);
/* Send an SSH keepalive every `seconds` of a connected session (0 = off,
 * default 60). A keepalive never keeps a client or connection alive. */
PSSH_API pssh_err pssh_config_set_keepalive(pssh_config *cfg, int seconds);
/* known_hosts file. Default ~/.ssh/known_hosts, where "~" is $HOME as the
 * client is made (pssh_client_new, pssh_parallel_new), or, when HOME is
 * unset or empty, the home directory of the process's user in the password
 * database. A path given here is used as it is (no "~" expansion). A missing
 * file is an empty one; anything but a regular file (a FIFO...) fails the
 * connection with PSSH_E_IO at once. Under ACCEPT_NEW, a new host's line is
 * appended in one write, after a newline if the file lacks a final one, and
 * a missing directory is made (mode 0700, the last component only, as ssh
 * makes ~/.ssh). */
PSSH_API pssh_err pssh_config_set_known_hosts(pssh_config *cfg, const char *path);
PSSH_API pssh_err pssh_config_set_host_key_policy(pssh_config *cfg, pssh_host_key_policy policy);
/* Connect over IPv6 only (default: IPv4 and IPv6, in resolver order). */
PSSH_API pssh_err pssh_config_set_ipv6_only(pssh_config *cfg, int enable);
/* A name for the host in outputs and messages (default: the host string). */
PSSH_API pssh_err pssh_config_set_alias(pssh_config *cfg, const char *alias);
/* SSH compression (zlib) when the server agrees (default off). */
PSSH_API pssh_err pssh_config_set_compression(pssh_config *cfg, int enable);
/* RSA keys are offered as rsa-sha2-512, then rsa-sha2-256, then, with this
 * on (the default), as ssh-rsa signed with SHA-1, which Dropbear 2022 and
 * x/crypto/ssh servers need. Each refusal is one of the server's tries. */
PSSH_API pssh_err pssh_config_set_rsa_sha1(pssh_config *cfg, int enable);
/* Read OpenSSH client configuration files (ssh_config(5)) for each host, as
 * OpenSSH's ssh does: paths is a NULL-terminated list read in order (the
 * first value obtained for a keyword wins), e.g. {"~/.ssh/config",
 * "/etc/ssh/ssh_config", NULL}; a leading "~/" is the home directory as ssh
 * finds it (the password database, not $HOME); a missing file is skipped;
 * an empty list reads nothing (for a per-host config: not even the
 * defaults' files). Calling again replaces the list. Settings are resolved
 * per host when the client is made (pssh_client_new, pssh_parallel_new),
 * from the files as they are then: User, Port, HostName (where to connect;
 * outputs keep the host's given name), IdentityFile, IdentitiesOnly,
 * ConnectTimeout, ConnectionAttempts, StrictHostKeyChecking,
 * UserKnownHostsFile, ServerAliveInterval, Compression, ProxyJump (as
 * pssh_config_set_proxy), with Host, Match and Include. A value set through this API (in the defaults or the host's
 * config) or written in the host string wins over the files. Unknown
 * keywords are ignored; known ones libpssh does not honour
 * (ProxyCommand, ForwardAgent, Ciphers...) give one warning each on the loop's log. A
 * malformed file fails the host with PSSH_E_HOST_ARG, an unreadable one
 * with PSSH_E_IO. Default: no file. (Added in 0.2.) */
PSSH_API pssh_err pssh_config_set_ssh_config(pssh_config *cfg, const char *const *paths);
/* Reach the host through proxy (jump) hosts, as ssh -J does:
 * "[user@]host[:port][,[user@]host[:port]...]", first hop first, at most 8.
 * Each hop's SSH connection carries the next one; the host's own
 * connection is a direct-tcpip channel on the last hop's, so the host name
 * is resolved by the last proxy. NULL or "" means direct, which overrides
 * a proxy set in the defaults. PSSH_E_INVAL for a malformed chain.
 * Every hop is checked against known_hosts like any host; its user and
 * credentials are the host's unless set below, and its other settings
 * (known_hosts, policy, timeout, keepalive) are the host's. Each distinct
 * proxy runs on a thread of its own, joined when the last client or output
 * that uses it is released, or at exit. A failure on the way (proxy
 * unreachable, refused, host key, target unreachable from the proxy,
 * proxy lost) is PSSH_E_PROXY, with a message naming the hop. (Added in
 * 0.2.) */
PSSH_API pssh_err pssh_config_set_proxy(pssh_config *cfg, const char *jump);
/* Port of the hops that do not give one (default 22, whatever the host's
 * port: a bastion listens where it listens). (Added in 0.2.) */
PSSH_API pssh_err pssh_config_set_proxy_port(pssh_config *cfg, int port);
/* User of the hops that do not give one (default: the host's user). (Added
 * in 0.2.) */
PSSH_API pssh_err pssh_config_set_proxy_user(pssh_config *cfg, const char *user);
/* Password for the hops (default: the host's password). (Added in 0.2.) */
PSSH_API pssh_err pssh_config_set_proxy_password(pssh_config *cfg, const char *password);
/* Private key for the hops, instead of the host's (file or memory, as
 * pssh_config_set_pkey_file/_memory). The host's identity files and agent
 * setting still apply. (Added in 0.2.) */
PSSH_API pssh_err pssh_config_set_proxy_pkey_file(pssh_config *cfg, const char *path,
                                                  const char *passphrase);
PSSH_API pssh_err pssh_config_set_proxy_pkey_memory(pssh_config *cfg, const void *data, size_t len,
                                                    const char *passphrase);

/* ------------------------------------------------------------------------ */
/* Command options                                                          */

#define PSSH_CMD_OPTS_VERSION 1
typedef struct pssh_cmd_opts {
    unsigned version;        /* PSSH_CMD_OPTS_VERSION */
    int sudo;                /* run through "sudo -S" */
    const char *user;        /* run as this user ("sudo -u USER -S"); implies sudo */
    const char *shell;       /* run as: SHELL 'command' (e.g. "bash -c"); NULL: the
                                login shell runs the command as sshd does */
    int use_pty;             /* request a pseudo-terminal (stderr then arrives on stdout) */
    const char *const *env;  /* NULL or a NULL-terminated list of "NAME=value", sent as
                                SSH env requests (the server's AcceptEnv decides) */
    int read_timeout_ms;     /* default for reads with timeout -1 (0 = no limit) */
    int timeout_ms;          /* command timeout: exec until exit (0 = none) */
    size_t buffer_limit;     /* bytes kept unread per stream before the host is held
                                back (0 = default 1 MiB) */
} pssh_cmd_opts;
#define PSSH_CMD_OPTS_INIT { PSSH_CMD_OPTS_VERSION, 0, NULL, NULL, 0, NULL, 0, 0, 0 }

/* ------------------------------------------------------------------------ */
/* File transfer options (SFTP and SCP)                                     */

/* Progress of one host's transfer: bytes moved so far and the total known
 * so far (a tree fetched from a host grows its total as it is listed).
 * host is the host's index in a parallel client (0 for a single client).
 * Called on the loop's thread, at most once per buffer moved and once at
 * the end; it may release handles but not make blocking calls. */
typedef void pssh_progress_fn(pssh_output *o, size_t host, unsigned long long done,
                              unsigned long long total, void *userdata);

#define PSSH_XFER_OPTS_VERSION 1
typedef struct pssh_xfer_opts {
    unsigned version;            /* PSSH_XFER_OPTS_VERSION */
    int recurse;                 /* copy a directory tree (a directory without it is an
                                    error: PSSH_E_SFTP / PSSH_E_SCP) */
    int preserve;                /* keep mode and modification time (like scp -p);
                                    without it files are made 0644 and directories 0755 */
    int copy_links;              /* copy symbolic links as links; default: follow them
                                    and copy what they point to */
    int timeout_ms;              /* the transfer's own deadline, from its start until its
                                    last file is in place (0 = none) */
    pssh_progress_fn *progress;  /* NULL: no progress reports */
    void *userdata;              /* for progress */
} pssh_xfer_opts;
#define PSSH_XFER_OPTS_INIT { PSSH_XFER_OPTS_VERSION, 0, 0, 0, 0, NULL, NULL }

/* ------------------------------------------------------------------------ */
/* Single host (parallel-ssh's SSHClient)                                   */

/* Opaque libssh2 types, for advanced callers that include <libssh2.h>. */
struct _LIBSSH2_SESSION;
struct _LIBSSH2_CHANNEL;

/* Make a client for `host` ("[user@]host[:port]"; IPv6 in brackets:
 * "[::1]:2222"). loop may be NULL: the client then makes its own. No I/O
 * happens here. cfg may be NULL (defaults). PSSH_E_HOST_ARG: malformed host. */
PSSH_API pssh_err pssh_client_new(pssh_loop *loop, const char *host, const pssh_config *cfg,
                                  pssh_client **out);
PSSH_API pssh_client *pssh_client_ref(pssh_client *c);
/* Releasing a client disconnects nothing that an output still holds. */
PSSH_API pssh_client *pssh_client_unref(pssh_client *c);
/* Connect and authenticate (with retries), if not already connected. */
PSSH_API pssh_err pssh_client_connect(pssh_client *c);
/* Run cmd: connects if needed, opens a channel and starts the command.
 * Returns once the command runs; read its output from *out (unref it).
 * opts may be NULL. On failure *out is NULL and the message is in
 * pssh_client_error_message(). A connection that dropped while idle is
 * replaced by a new one. */
PSSH_API pssh_err pssh_client_run_command(pssh_client *c, const char *cmd,
                                          const pssh_cmd_opts *opts, pssh_output **out);
/* Open an interactive shell (parallel-ssh's open_shell): a channel with a
 * shell request instead of exec, for devices whose exec is partial (network
 * gear). opts may be NULL; use_pty, env, timeouts and buffer_limit apply;
 * sudo, user and shell must be unset (PSSH_E_INVAL). Send it lines with
 * pssh_output_shell_run(), close it with pssh_output_close_stdin() (EOF),
 * then read its stdout, stderr and exit code like a command's. A shell
 * request the server refuses is PSSH_E_SHELL. (Added in 0.2.) */
PSSH_API pssh_err pssh_client_open_shell(pssh_client *c, const pssh_cmd_opts *opts, pssh_output **out);
/* Deprecated alias of pssh_client_run_command. */
PSSH_API pssh_err pssh_client_execute(pssh_client *c, const char *cmd, const pssh_cmd_opts *opts,
                                      pssh_output **out)
    PSSH_DEPRECATED("0.1", "use pssh_client_run_command");
/* Deprecated no-op: connections close when their last holder lets go. */
PSSH_API pssh_err pssh_client_disconnect(pssh_client *c)
    PSSH_DEPRECATED("0.1", "release the client and its outputs instead");
/* The last error of this client: "host: phase: cause" ("" if none). Valid
 * until the next call on the client. pssh_client_connect() waits at most
 * (retries + 1) x (config timeout + retry delay). */
PSSH_API const char *pssh_client_error_message(const pssh_client *c);
/* Connection attempts made for the client's current (or last) connection,
 * retries included; 0 before the first. (Added in 0.2.) */
PSSH_API int pssh_client_attempts(const pssh_client *c);
/* The host as given, and its alias (the host if no alias was set). */
PSSH_API const char *pssh_client_host(const pssh_client *c);
PSSH_API const char *pssh_client_alias(const pssh_client *c);
/* The loop this client runs on (borrowed). */
PSSH_API pssh_loop *pssh_client_loop(const pssh_client *c);
/* The libssh2 session of the current connection (NULL if not connected).
 * Borrowed: it is non-blocking and belongs to the loop's thread; drive it
 * with pssh_client_eagain()/pssh_client_eagain_write(). */
PSSH_API struct _LIBSSH2_SESSION *pssh_client_session(pssh_client *c);

/* A libssh2 call for pssh_client_eagain: returns its libssh2 result. */
typedef int pssh_eagain_fn(void *arg);
/* A libssh2 write for pssh_client_eagain_write: bytes written or negative. */
typedef long pssh_eagain_write_fn(void *arg, const char *buf, size_t len);
/* Call fn(arg) until it returns something other than LIBSSH2_ERROR_EAGAIN,
 * waiting on the loop in the direction libssh2 reports between calls (never
 * spinning). *rc gets fn's last result. PSSH_E_AGAIN after timeout_ms
 * (-1: no limit). The client must be connected. */
PSSH_API pssh_err pssh_client_eagain(pssh_client *c, pssh_eagain_fn *fn, void *arg,
                                     int timeout_ms, int *rc);
/* Call fn until all len bytes are written (partial writes are resumed).
 * *written (may be NULL) gets the bytes written. A negative result other
 * than EAGAIN stops with PSSH_E_LOST (its value in *rc, may be NULL). */
PSSH_API pssh_err pssh_client_eagain_write(pssh_client *c, pssh_eagain_write_fn *fn, void *arg,
                                           const void *buf, size_t len, int timeout_ms,
                                           size_t *written, long *rc);

/* File transfers on one host (parallel-ssh's copy_file, copy_remote_file,
 * scp_send, scp_recv). Each connects if needed, runs the loop until the
 * transfer is over, and returns PSSH_OK or the host's error class (the
 * message in pssh_client_error_message()): PSSH_E_SFTP or PSSH_E_SCP for
 * what the server refused (permission denied, no such file, a full disk, a
 * directory where a file was named, a directory without recurse),
 * PSSH_E_IO for the local side, PSSH_E_LOST when the connection went,
 * PSSH_E_TIMEOUT when opts->timeout_ms passed. out may be NULL; otherwise
 * *out gets the transfer's output whether it succeeded or failed (its
 * timings, pssh_output_transfer_stats; release it with pssh_output_unref).
 *
 * A remote path ending in "/" gets the local file's name appended (put), a
 * local path ending in "/" the remote file's name (get). Missing remote
 * directories above the target are made (mkdir -p, mode 0755). Files are
 * written under a temporary name (".pssh-...") in their own directory and
 * renamed over the target once complete, on either side
 * (posix-rename@openssh.com where the server has it), so a failed transfer
 * never leaves a truncated file under the target's name (its temporary is
 * removed, but stays on a host whose connection was lost). Memory: one
 * 1 MiB buffer per transfer, plus about as much in flight in libssh2, plus
 * the list of a tree's entries. SCP carries the file data over
 * "scp -t"/"scp -f" and, as parallel-ssh does, uses SFTP for the rest
 * (stat, mkdir, listing trees, the final rename). opts may be NULL. */
PSSH_API pssh_err pssh_client_copy_file(pssh_client *c, const char *local, const char *remote,
                                        const pssh_xfer_opts *opts, pssh_output **out);
PSSH_API pssh_err pssh_client_copy_remote_file(pssh_client *c, const char *remote, const char *local,
                                               const pssh_xfer_opts *opts, pssh_output **out);
PSSH_API pssh_err pssh_client_scp_send(pssh_client *c, const char *local, const char *remote,
                                       const pssh_xfer_opts *opts, pssh_output **out);
PSSH_API pssh_err pssh_client_scp_recv(pssh_client *c, const char *remote, const char *local,
                                       const pssh_xfer_opts *opts, pssh_output **out);

/* ------------------------------------------------------------------------ */
/* Output of one command on one host (parallel-ssh's HostOutput)            */

typedef enum pssh_stream { PSSH_STDOUT = 0, PSSH_STDERR = 1 } pssh_stream;

PSSH_API pssh_output *pssh_output_ref(pssh_output *o);
/* Releasing a running command's output closes its channel. */
PSSH_API pssh_output *pssh_output_unref(pssh_output *o);
PSSH_API const char *pssh_output_host(const pssh_output *o);
PSSH_API const char *pssh_output_alias(const pssh_output *o);

/* Next line of a stream, without its "\n" (and a "\r" before it). *line is
 * borrowed until the next read of this stream or the unref; it is not NUL
 * terminated. A last line without newline is returned too. Returns PSSH_OK,
 * PSSH_EOF at the end of the stream, PSSH_E_AGAIN when no full line came
 * within timeout_ms (0: do not wait; -1: the command's read timeout). A
 * timeout loses nothing: the partial line stays for the next read.
 * PSSH_EOF comes once the command is over (its channel closed), never just
 * at the stream's own end: after both streams have given PSSH_EOF the exit
 * code or signal is known, with no pssh_output_wait() needed. Lines
 * longer than the buffer limit are returned in pieces of that size. On a
 * failed host, the error class (e.g. PSSH_E_LOST) once the buffered output
 * has been read. PSSH_E_FULL: the other stream's buffer is at its limit,
 * so the host is held back (the two streams share one SSH window) until the
 * other stream is read. */
PSSH_API pssh_err pssh_output_read_line(pssh_output *o, pssh_stream stream, const char **line,
                                        size_t *len, int timeout_ms);
/* Raw bytes of a stream: waits for at least one byte, copies at most cap
 * into buf, *n gets the count. Same returns and timeouts as read_line. */
PSSH_API pssh_err pssh_output_read(pssh_output *o, pssh_stream stream, void *buf, size_t cap,
                                   size_t *n, int timeout_ms);
/* Write all of buf to the command's stdin (copied). *written (may be NULL)
 * counts what was sent by the time the call returns; on PSSH_E_AGAIN the
 * rest stays queued, in order, and is sent in the background: do not write
 * it again. PSSH_E_STATE: stdin was closed, or the command stopped reading. */
PSSH_API pssh_err pssh_output_write_stdin(pssh_output *o, const void *buf, size_t len,
                                          int timeout_ms, size_t *written);
/* A shell's next line: writes line and a newline to its stdin (as
 * pssh_output_write_stdin, same timeout and PSSH_E_AGAIN). PSSH_E_SHELL
 * when the output is not a shell, or the shell's input is closed or it is
 * over. (Added in 0.2.) */
PSSH_API pssh_err pssh_output_shell_run(pssh_output *o, const char *line, int timeout_ms);
/* Send EOF on stdin. Further writes return PSSH_E_STATE. */
PSSH_API pssh_err pssh_output_close_stdin(pssh_output *o, int timeout_ms);
/* Wait until the command has exited and its channel closed (-1: no limit).
 * Output keeps arriving into the buffers meanwhile; when a buffer reaches
 * its limit, returns PSSH_E_FULL unless discard is set, in which case unread
 * output is thrown away. Returns PSSH_OK, the host's error class, or
 * PSSH_E_AGAIN when timeout_ms passed first. */
PSSH_API pssh_err pssh_output_wait(pssh_output *o, int timeout_ms, int discard);
/* Close the command's channel now (parallel-ssh's close_channel): the
 * output is over at once, what arrived stays readable, the reads then give
 * PSSH_EOF, and the exit code is -1 unless it had arrived. The remote
 * command sees its channel close (EOF on stdin; without a pty it may run
 * on). Never blocks; allowed in callbacks. A command not started yet never
 * starts (its error is PSSH_E_STATE). No-op once finished. (Added in 0.2.) */
PSSH_API pssh_err pssh_output_close(pssh_output *o);
/* 1 once the command has exited (or failed) and nothing more will arrive. */
PSSH_API int pssh_output_finished(const pssh_output *o);
/* Connection attempts made for the connection this output used, retries
 * included (1 when the first attempt succeeded). (Added in 0.2.) */
PSSH_API int pssh_output_attempts(const pssh_output *o);
/* Exit code 0..255, or -1 when none was received: still running, killed by
 * a signal, or the host failed (a dropped connection never reads as 0). */
PSSH_API int pssh_output_exit_code(const pssh_output *o);
/* Signal that killed the command, without "SIG" ("TERM"), or NULL. */
PSSH_API const char *pssh_output_exit_signal(const pssh_output *o);
/* The host's error class (PSSH_OK if none) and message ("" if none). */
PSSH_API pssh_err pssh_output_error(const pssh_output *o);
PSSH_API const char *pssh_output_error_message(const pssh_output *o);

/* Where a host's time went, in milliseconds (-1: phase not reached). For a
 * command on a reused connection, connect/handshake/auth are those of the
 * connection's first attempt that succeeded. */
typedef struct pssh_timings {
    double connect_ms;   /* resolve + TCP connect */
    double handshake_ms; /* SSH banner + key exchange + host key check */
    double auth_ms;      /* authentication */
    double exec_ms;      /* channel open + pty/env + exec */
    double run_ms;       /* exec until the command exited and its channel closed */
} pssh_timings;
PSSH_API pssh_err pssh_output_timings(const pssh_output *o, pssh_timings *t);
/* A transfer's figures. pssh_timings has no version field and keeps its
 * size for ever, so a transfer's own figures come through this versioned
 * struct instead: set version to PSSH_TRANSFER_STATS_VERSION first. For a
 * transfer output, pssh_timings' exec_ms is the SFTP start and run_ms the
 * transfer (the same as transfer_ms here); for a command, bytes are 0 and
 * transfer_ms is -1. (Added in 0.2.) */
#define PSSH_TRANSFER_STATS_VERSION 1
typedef struct pssh_transfer_stats {
    unsigned version;           /* PSSH_TRANSFER_STATS_VERSION */
    unsigned long long bytes;   /* file bytes moved so far */
    unsigned long long total;   /* file bytes to move, as known so far */
    double transfer_ms;         /* from the transfer's start to its end (or now); -1 */
} pssh_transfer_stats;
PSSH_API pssh_err pssh_output_transfer_stats(const pssh_output *o, pssh_transfer_stats *st);
/* The libssh2 channel while the command runs (NULL otherwise). Borrowed. */
PSSH_API struct _LIBSSH2_CHANNEL *pssh_output_channel(pssh_output *o);

/* ------------------------------------------------------------------------ */
/* Host strings and host files                                              */

/* Checks "[user@]host[:port]" without resolving it: PSSH_OK, or
 * PSSH_E_HOST_ARG with the reason written to why (may be NULL). */
PSSH_API pssh_err pssh_host_check(const char *host, char *why, size_t whylen);
/* Called for each host of a host file with its line number; a non-zero
 * return stops the reading (pssh_hosts_read_file then returns PSSH_E_INVAL). */
typedef int pssh_host_fn(const char *host, unsigned line, void *userdata);
/* Reads a host file ("-" is stdin): one host per line, blank lines and '#'
 * comments (whole line or after the host) ignored, surrounding blanks
 * trimmed. Each line is a host pattern as pssh_hosts_expand() reads it
 * (ranges and comma-separated lists; since 0.2): fn gets each host it
 * names, with the line number. Stops at the first malformed host or range
 * with PSSH_E_HOST_ARG and "FILE:LINE: reason" in why; PSSH_E_IO when the
 * file cannot be read. */
PSSH_API pssh_err pssh_hosts_read_file(const char *path, pssh_host_fn *fn, void *userdata, char *why,
                                       size_t whylen);
/* Expands a host pattern, pdsh and ClusterShell style: a bracket holds
 * numbers and ranges ("web[01-20].example.com", "node[1-3,7,10-12]"),
 * several brackets multiply (the rightmost varies fastest), zero padding is
 * kept ("[08-10]": 08 09 10), commas outside brackets separate patterns
 * ("node[1-2],login1"), and a bracket holding ':' is an IPv6 address, kept
 * as it is ("root@[::1]:2222"). fn gets each host in order with line 0; a
 * non-zero return stops (PSSH_E_INVAL). fn is called only when the whole
 * pattern is well formed and names at most 1,000,000 hosts; otherwise
 * PSSH_E_HOST_ARG with the reason in why (may be NULL). The hosts are not
 * checked as host strings: see pssh_host_check(). (Added in 0.2.) */
PSSH_API pssh_err pssh_hosts_expand(const char *pattern, pssh_host_fn *fn, void *userdata, char *why,
                                    size_t whylen);

/* ------------------------------------------------------------------------ */
/* Many hosts (parallel-ssh's ParallelSSHClient)                            */
/* One connection per host entry (duplicates stay distinct), all on one loop
 * and one thread. Outputs come back in host order. Releasing the parallel
 * client disconnects nothing an output still holds. */

/* A line from any host as it arrives, with its line ending exactly as sent
 * ("\n" or "\r\n"; none on a last line without one, or on a piece of a line
 * longer than the buffer limit), so concatenating a stream's lines gives its
 * bytes exactly. stream is stdout or stderr; line is not NUL terminated and
 * is valid during the call only. */
typedef void pssh_line_fn(pssh_output *o, size_t host, pssh_stream stream, const char *line,
                          size_t len, void *userdata);
/* A host's command is over (exited, or failed: see pssh_output_error). */
typedef void pssh_exit_fn(pssh_output *o, size_t host, void *userdata);

/* Make a client for n hosts ("[user@]host[:port]" each). defaults may be
 * NULL; host_cfgs may be NULL or an array of n configs (NULL entries allowed)
 * whose set values override the defaults for that host, false and 0
 * included. loop may be NULL (the client makes its own). A malformed host
 * does not fail this call: that host's outputs carry PSSH_E_HOST_ARG. */
PSSH_API pssh_err pssh_parallel_new(pssh_loop *loop, const char *const *hosts, size_t n,
                                    const pssh_config *defaults,
                                    const pssh_config *const *host_cfgs, pssh_parallel **out);
PSSH_API pssh_parallel *pssh_parallel_ref(pssh_parallel *p);
PSSH_API pssh_parallel *pssh_parallel_unref(pssh_parallel *p);
PSSH_API size_t pssh_parallel_size(const pssh_parallel *p);
/* Host i as given (borrowed; "" when out of range). */
PSSH_API const char *pssh_parallel_host(const pssh_parallel *p, size_t i);
PSSH_API pssh_loop *pssh_parallel_loop(const pssh_parallel *p);
/* How many hosts may be setting up at once: connect, authenticate, open a
 * channel and start the command (default 100, as parallel-ssh). The rest
 * wait in host order; a started command keeps running while the next host
 * sets up. */
PSSH_API pssh_err pssh_parallel_set_pool_size(pssh_parallel *p, size_t n);
/* On (default, as parallel-ssh): run_command and connect_auth return the
 * first failure as soon as it happens (the other hosts go on). Off: they
 * return PSSH_OK once every host started or failed, and each failed host's
 * output carries its error class and message. */
PSSH_API pssh_err pssh_parallel_set_stop_on_errors(pssh_parallel *p, int on);
/* On (default): connections stay open after a run, for the next one. Off:
 * a host's connection closes as soon as its command is over (its output
 * stays readable), so a one-shot run over many hosts holds a descriptor
 * only for hosts still working. (Added in 0.2.) */
PSSH_API pssh_err pssh_parallel_set_keep_connections(pssh_parallel *p, int on);
/* Streaming: with a line callback, every output delivers its lines to it as
 * they arrive from any host instead of keeping them for pssh_output_read*;
 * the exit callback runs when each host's command is over. Callbacks run on
 * the loop's thread inside blocking calls (run_command, join, loop runs);
 * they may release handles but not make blocking calls (PSSH_E_BUSY). */
PSSH_API pssh_err pssh_parallel_set_callbacks(pssh_parallel *p, pssh_line_fn *on_line,
                                              pssh_exit_fn *on_exit, void *userdata);
/* Run cmd on every host. Returns once every host's command has started or
 * failed (or at the first failure when stop_on_errors is on). outs may be
 * NULL, or an array of pssh_parallel_size() entries that receives one
 * output per host in host order, each to be released with
 * pssh_output_unref (failed hosts included); it is filled whenever the run
 * began (PSSH_OK or a host's error class) and untouched on argument errors
 * (PSSH_E_INVAL, PSSH_E_HOST_ARG). The connections stay for the next run. */
PSSH_API pssh_err pssh_parallel_run_command(pssh_parallel *p, const char *cmd,
                                            const pssh_cmd_opts *opts, pssh_output **outs);
/* As run_command, but returns at once, without running the loop: the hosts
 * connect and start through the pool while the caller runs the loop
 * (pssh_parallel_join, pssh_loop_run_once...), and the callbacks run from
 * there. So a caller can stream output and react (to a signal, a clock)
 * from the first moment, where run_command would hold it until the last
 * host started or failed. Returns PSSH_OK, an argument error (outs then
 * untouched) or PSSH_E_BUSY; stop_on_errors does not apply: each host's
 * failure is on its output. (Added in 0.2.) */
PSSH_API pssh_err pssh_parallel_start_command(pssh_parallel *p, const char *cmd,
                                              const pssh_cmd_opts *opts, pssh_output **outs);
/* One command per host (parallel-ssh's host_args): ncmds must equal the
 * host count (PSSH_E_HOST_ARG otherwise). */
PSSH_API pssh_err pssh_parallel_run_commands(pssh_parallel *p, const char *const *cmds,
                                             size_t ncmds, const pssh_cmd_opts *opts,
                                             pssh_output **outs);
/* Shells on every host (parallel-ssh's open_shell on each): like
 * pssh_parallel_run_command, with pssh_client_open_shell's options; outs
 * get the shells. (Added in 0.2.) */
PSSH_API pssh_err pssh_parallel_open_shells(pssh_parallel *p, const pssh_cmd_opts *opts, pssh_output **outs);
/* Send lines (a newline added to each) to every shell of the last
 * pssh_parallel_open_shells (parallel-ssh's run_shell_commands), to all
 * hosts at once. PSSH_OK once every shell took them, PSSH_E_AGAIN after
 * timeout_ms (the rest stays queued and goes in the background),
 * PSSH_E_SHELL when the last run was not shells or some shell's input was
 * closed (pssh_parallel_error_message names it; the others got the
 * lines). (Added in 0.2.) */
PSSH_API pssh_err pssh_parallel_run_shell_commands(pssh_parallel *p, const char *const *lines, size_t n,
                                                   int timeout_ms);
/* Close every shell's input (EOF), then join them (parallel-ssh's
 * join_shells): returns as pssh_parallel_join does. (Added in 0.2.) */
PSSH_API pssh_err pssh_parallel_join_shells(pssh_parallel *p, int timeout_ms, size_t *unfinished);
/* One pair of paths per host (parallel-ssh's copy_args). */
typedef struct pssh_copy_arg {
    const char *local;
    const char *remote;
} pssh_copy_arg;
/* Transfers on every host at once, through the pool like commands (a host
 * holds its pool slot until its transfer has started), with the semantics
 * of the single-host calls (pssh_client_copy_file). Return, outs, join,
 * finished, stop_on_errors, the exit callback and per-host errors work as
 * for pssh_parallel_run_command; a transfer's exit code is 0 once it is
 * complete. args may be NULL (every host uses local and remote) or hold
 * nargs pairs, one per host: nargs other than the host count is
 * PSSH_E_HOST_ARG before anything connects. Getting from many hosts
 * without args writes host i's file (or tree) to local + sep + host, host
 * as given ('/' made '_'); sep NULL is "_" (parallel-ssh's suffix). */
PSSH_API pssh_err pssh_parallel_copy_file(pssh_parallel *p, const char *local, const char *remote,
                                          const pssh_copy_arg *args, size_t nargs,
                                          const pssh_xfer_opts *opts, pssh_output **outs);
PSSH_API pssh_err pssh_parallel_copy_remote_file(pssh_parallel *p, const char *remote, const char *local,
                                                 const char *sep, const pssh_copy_arg *args, size_t nargs,
                                                 const pssh_xfer_opts *opts, pssh_output **outs);
PSSH_API pssh_err pssh_parallel_scp_send(pssh_parallel *p, const char *local, const char *remote,
                                         const pssh_copy_arg *args, size_t nargs,
                                         const pssh_xfer_opts *opts, pssh_output **outs);
PSSH_API pssh_err pssh_parallel_scp_recv(pssh_parallel *p, const char *remote, const char *local,
                                         const char *sep, const pssh_copy_arg *args, size_t nargs,
                                         const pssh_xfer_opts *opts, pssh_output **outs);
/* Connect and authenticate every host (through the pool) without running
 * anything. Per-host results: pssh_parallel_host_error(). */
PSSH_API pssh_err pssh_parallel_connect_auth(pssh_parallel *p);
/* Wait until every command of the last run is over, for at most timeout_ms
 * (-1: no limit): PSSH_OK, or PSSH_E_TIMEOUT with *unfinished (may be NULL)
 * saying how many are not; pssh_output_finished() tells which. A second
 * join waits for the rest. consume_output discards what the hosts print
 * meanwhile; without it, output is kept up to each buffer's limit and
 * PSSH_E_FULL says every unfinished host is held back until it is read. */
PSSH_API pssh_err pssh_parallel_join(pssh_parallel *p, int timeout_ms, int consume_output,
                                     size_t *unfinished);
/* 1 when every command of the last run is over. */
PSSH_API int pssh_parallel_finished(const pssh_parallel *p);
/* The first failure of the last run_command/connect_auth ("" if none).
 * This and the host messages below stay valid until the next
 * run_command/connect_auth on this client, or its release. */
PSSH_API const char *pssh_parallel_error_message(const pssh_parallel *p);
/* Host i's result in the last run_command/connect_auth (PSSH_OK if none). */
PSSH_API pssh_err pssh_parallel_host_error(const pssh_parallel *p, size_t i);
PSSH_API const char *pssh_parallel_host_error_message(const pssh_parallel *p, size_t i);

#ifdef __cplusplus
}
#endif
#endif /* PSSH_PSSH_H */
