/* Authentication (each method, each failure its own class) and host key
 * checking under each policy, against a real sshd. */
#include "fixtures/fleet.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(auth, .timeout = 60);
TestSuite(hostkey, .timeout = 60);

/* Connects to host with cfg; returns the class, the message in *msg. Takes
 * ownership of cfg unless keep is set. */
static pssh_err try_connect_keep(const char *host, pssh_config *cfg, char *msg, size_t cap, int keep)
{
    pssh_client *c = NULL;
    pssh_err rc = pssh_client_new(NULL, host, cfg, &c);
    if (!keep)
        pssh_config_free(cfg);
    if (rc != PSSH_OK)
        return rc;
    rc = pssh_client_connect(c);
    if (msg)
        snprintf(msg, cap, "%s", pssh_client_error_message(c));
    if (rc == PSSH_OK) {
        pssh_output *o = fleet_run(c, "echo ok", NULL);
        size_t n;
        char *out = read_all(o, PSSH_STDOUT, &n);
        cr_assert_str_eq(out, "ok\n");
        free(out);
        pssh_output_unref(o);
    }
    pssh_client_unref(c);
    return rc;
}
#define try_connect(h, cfg, msg, cap) try_connect_keep((h), (cfg), (msg), (cap), 0)
#define try_connect_with(h, cfg, msg, cap) try_connect_keep((h), (cfg), (msg), (cap), 1)

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[16384];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

Test(auth, key_file) { cr_assert_eq(try_connect(fleet_host(1), fleet_config(), NULL, 0), PSSH_OK); }

Test(auth, key_in_memory)
{
    pssh_config *cfg = fleet_config();
    size_t len;
    char *key = slurp(fleet("FLEET_KEY"), &len);
    cr_assert_eq(pssh_config_set_pkey_memory(cfg, key, len, NULL), PSSH_OK);
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, NULL, 0), PSSH_OK);
    pssh_config_free(cfg);
}

Test(auth, encrypted_ecdsa_key_file_and_memory)
{
    pssh_config *cfg = fleet_config();
    cr_assert_eq(pssh_config_set_pkey_file(cfg, fleet_path("id_ecdsa_pass"), fleet("FLEET_PASSPHRASE")), PSSH_OK);
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, NULL, 0), PSSH_OK);
    size_t len;
    char *key = slurp(fleet_path("id_ecdsa_pass"), &len);
    cr_assert_eq(pssh_config_set_pkey_memory(cfg, key, len, fleet("FLEET_PASSPHRASE")), PSSH_OK);
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, NULL, 0), PSSH_OK);
    pssh_config_free(cfg);
}

Test(auth, passphrase_missing_or_wrong)
{
    pssh_config *cfg = fleet_config();
    char msg[512];
    cr_assert_eq(pssh_config_set_pkey_file(cfg, fleet_path("id_ecdsa_pass"), NULL), PSSH_OK);
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, msg, sizeof msg), PSSH_E_PASSPHRASE);
    cr_assert(strstr(msg, "no passphrase") != NULL, "%s", msg);
    cr_assert_eq(pssh_config_set_pkey_file(cfg, fleet_path("id_ecdsa_pass"), "not-it"), PSSH_OK);
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, msg, sizeof msg), PSSH_E_PASSPHRASE);
    cr_assert(strstr(msg, "wrong passphrase") != NULL, "%s", msg);
    pssh_config_free(cfg);
}

Test(auth, wrong_key_is_refused)
{
    pssh_config *cfg = fleet_config();
    char msg[512];
    cr_assert_eq(pssh_config_set_pkey_file(cfg, fleet_path("id_wrong"), NULL), PSSH_OK);
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, msg, sizeof msg), PSSH_E_AUTH);
    cr_assert(strstr(msg, "id_wrong") && strstr(msg, "refused"), "%s", msg);
    cr_assert(strstr(msg, fleet_host(1)) == msg, "message starts with the host: %s", msg);
    pssh_config_free(cfg);
}

Test(auth, unknown_user_is_refused)
{
    char host[128], msg[512];
    snprintf(host, sizeof host, "no-such-user-pssh@%s", fleet_host(1));
    cr_assert_eq(try_connect(host, fleet_config(), msg, sizeof msg), PSSH_E_AUTH);
    cr_assert(strstr(msg, "no-such-user-pssh") != NULL, "%s", msg);
}

/* An authentication failure is final: with retries set, the call still
 * returns before the first retry delay could have passed. */
#define RETRY_DELAY ((int)within(5000))

Test(auth, bad_key_files_fail_before_connecting)
{
    pssh_config *cfg = fleet_config();
    char msg[512];
    struct {
        const char *path;
        const char *want;
    } cases[] = {
        {"/nonexistent/key", "No such file"},
        {fleet_write_file("garbage_key", "this is not a key\n"), "not a private key"},
        {fleet_path("id_ed25519.pub"), "public key"},
        {"/tmp", "not a regular file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(pssh_config_set_pkey_file(cfg, cases[i].path, NULL), PSSH_OK);
        cr_assert_eq(try_connect_with(fleet_host(1), cfg, msg, sizeof msg), PSSH_E_PKEY, "%s", cases[i].path);
        cr_assert(strstr(msg, cases[i].want) != NULL, "%s: %s", cases[i].path, msg);
    }
    pssh_config_free(cfg);
}

Test(auth, identity_files_are_tried_in_turn)
{
    pssh_config *cfg = fleet_config();
    cr_assert_eq(pssh_config_set_pkey_file(cfg, fleet_path("id_wrong"), NULL), PSSH_OK);
    cr_assert_eq(pssh_config_add_identity_file(cfg, fleet("FLEET_KEY")), PSSH_OK);
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, NULL, 0), PSSH_OK);
    pssh_config_free(cfg);
}

static pssh_config *password_config(const char *password)
{
    pssh_config *cfg = NULL;
    cr_assert_eq(pssh_config_new(&cfg), PSSH_OK);
    pssh_config_set_known_hosts(cfg, fleet("FLEET_KNOWN_HOSTS"));
    pssh_config_set_agent(cfg, 0);
    pssh_config_set_default_identities(cfg, 0);
    pssh_config_set_retries(cfg, 0, 0);
    pssh_config_set_timeout(cfg, (int)within(10000));
    pssh_config_set_password(cfg, password);
    return cfg;
}

/* The fleet's PAM sshd. Without root there can be none: skipped, saying
 * so. As root it must be there: its absence fails the test, unless
 * PSSH_TEST_SKIP_PAM is set (a machine known to lack mount namespaces). */
static const char *pam_host(const char *var)
{
    const char *h = getenv(var);
    if (!h || !*h) {
        const char *status = getenv("FLEET_PW_STATUS");
        if (status && !strcmp(status, "not-root"))
            cr_skip_test("no PAM sshd: the fleet does not run as root");
        if (getenv("PSSH_TEST_SKIP_PAM"))
            cr_skip_test("no PAM sshd (%s), and PSSH_TEST_SKIP_PAM is set", status ? status : "unknown");
        cr_assert_fail("the fleet has no PAM sshd: %s (see %s/sshd.pw.log; PSSH_TEST_SKIP_PAM=1 skips this)",
                       status ? status : "FLEET_PW_STATUS not set", fleet("FLEET_DIR"));
    }
    static char buf[64];
    snprintf(buf, sizeof buf, "%s:%d", h, fleet_port());
    return buf;
}

Test(auth, password)
{
    const char *host = pam_host("FLEET_PW_HOST");
    char msg[512];
    cr_assert_eq(try_connect(host, password_config(fleet("FLEET_PASSWORD")), msg, sizeof msg), PSSH_OK, "%s", msg);
    cr_assert_eq(try_connect(host, password_config("wrong"), msg, sizeof msg), PSSH_E_AUTH);
    cr_assert(strstr(msg, "password refused") != NULL, "%s", msg);
}

Test(auth, keyboard_interactive)
{
    const char *host = pam_host("FLEET_KBD_HOST");
    char msg[512];
    cr_assert_eq(try_connect(host, password_config(fleet("FLEET_PASSWORD")), msg, sizeof msg), PSSH_OK, "%s", msg);
    cr_assert_eq(try_connect(host, password_config("wrong"), msg, sizeof msg), PSSH_E_AUTH);
    cr_assert(strstr(msg, "keyboard-interactive refused") != NULL, "%s", msg);
}

/* A real ssh-agent, started for the test as `ssh-agent -a SOCK sleep 120`:
 * the agent ends with its `sleep` (so a failed test cannot leave it
 * behind), and both are stopped by pid. */
static int agent_pid, agent_sleep_pid;
static void start_agent(const char *key)
{
    char sock[256], cmd[512];
    snprintf(sock, sizeof sock, "%s/agent.%d.sock", fleet("FLEET_DIR"), (int)getpid());
    unlink(sock);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execlp("ssh-agent", "ssh-agent", "-a", sock, "sleep", "120", (char *)NULL);
        _exit(127);
    }
    agent_sleep_pid = (int)pid;
    /* The agent's pid is in the environment of the command it started. */
    char env_path[64], env[8192];
    snprintf(env_path, sizeof env_path, "/proc/%d/environ", (int)pid);
    for (int i = 0; i < 200 && !agent_pid; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        FILE *f = fopen(env_path, "r");
        size_t n = f ? fread(env, 1, sizeof env - 1, f) : 0;
        if (f)
            fclose(f);
        env[n] = 0;
        for (size_t at = 0; at < n; at += strlen(env + at) + 1)
            if (!strncmp(env + at, "SSH_AGENT_PID=", 14))
                agent_pid = atoi(env + at + 14);
        if (!agent_pid || access(sock, F_OK) != 0) {
            agent_pid = 0;
            nanosleep(&ts, NULL);
        }
    }
    cr_assert(agent_pid > 0, "ssh-agent did not start");
    setenv("SSH_AUTH_SOCK", sock, 1);
    snprintf(cmd, sizeof cmd, "ssh-add -q %s 2>/dev/null", key);
    cr_assert_eq(system(cmd), 0);
}
static void stop_agent(void)
{
    if (agent_pid > 0)
        kill(agent_pid, SIGTERM);
    if (agent_sleep_pid > 0) {
        kill(agent_sleep_pid, SIGTERM);
        waitpid(agent_sleep_pid, NULL, 0);
    }
    agent_pid = agent_sleep_pid = 0;
}

Test(auth, agent, .fini = stop_agent)
{
    start_agent(fleet("FLEET_KEY"));
    pssh_config *cfg = password_config("unused");
    pssh_config_free(cfg);
    cr_assert_eq(pssh_config_new(&cfg), PSSH_OK);
    pssh_config_set_known_hosts(cfg, fleet("FLEET_KNOWN_HOSTS"));
    pssh_config_set_default_identities(cfg, 0);
    pssh_config_set_agent(cfg, 1);
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, NULL, 0), PSSH_OK);
    pssh_config_free(cfg);
}

Test(auth, agent_with_the_wrong_key, .fini = stop_agent)
{
    start_agent(fleet_path("id_wrong"));
    pssh_config *cfg = NULL;
    cr_assert_eq(pssh_config_new(&cfg), PSSH_OK);
    pssh_config_set_known_hosts(cfg, fleet("FLEET_KNOWN_HOSTS"));
    pssh_config_set_default_identities(cfg, 0);
    pssh_config_set_retries(cfg, 0, 0);
    pssh_config_set_agent(cfg, 1);
    char msg[512];
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, msg, sizeof msg), PSSH_E_AUTH);
    cr_assert(strstr(msg, "agent: 1 key(s) refused") != NULL, "%s", msg);
    pssh_config_free(cfg);
}

/* Nothing to offer: refused at once, never retried. */
Test(auth, no_credentials_at_all)
{
    pssh_config *cfg = NULL;
    cr_assert_eq(pssh_config_new(&cfg), PSSH_OK);
    pssh_config_set_known_hosts(cfg, fleet("FLEET_KNOWN_HOSTS"));
    pssh_config_set_agent(cfg, 0);
    pssh_config_set_default_identities(cfg, 0);
    pssh_config_set_retries(cfg, 3, RETRY_DELAY);
    char msg[512];
    double t0 = now_ms();
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, msg, sizeof msg), PSSH_E_AUTH);
    double dt = now_ms() - t0;
    cr_assert(dt < RETRY_DELAY, "retried: %.0f ms", dt);
    cr_assert(strstr(msg, "no credential") != NULL, "%s", msg);
    cr_assert(strstr(msg, "attempts") == NULL, "%s", msg);
    pssh_config_free(cfg);
}

/* A refused key is final too. */
Test(auth, refused_key_is_not_retried)
{
    pssh_config *cfg = fleet_config();
    cr_assert_eq(pssh_config_set_pkey_file(cfg, fleet_path("id_wrong"), NULL), PSSH_OK);
    pssh_config_set_retries(cfg, 3, RETRY_DELAY);
    char msg[512];
    double t0 = now_ms();
    cr_assert_eq(try_connect_with(fleet_host(1), cfg, msg, sizeof msg), PSSH_E_AUTH);
    double dt = now_ms() - t0;
    cr_assert(dt < RETRY_DELAY, "retried: %.0f ms", dt);
    cr_assert(strstr(msg, "attempts") == NULL, "%s", msg);
    pssh_config_free(cfg);
}

/* ---- defaults from the environment (HOME, SSH_AUTH_SOCK) ---- */

static void copy_file(const char *from, const char *to)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 600 '%s'", from, to, to);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* A fresh HOME with an empty ~/.ssh, no agent: only what the test puts
 * there counts. Returns ~/.ssh. */
static const char *temp_home(void)
{
    static char home[256], ssh_dir[300];
    snprintf(home, sizeof home, "%s/home-%d", fleet("FLEET_DIR"), (int)getpid());
    snprintf(ssh_dir, sizeof ssh_dir, "%s/.ssh", home);
    cr_assert(mkdir(home, 0700) == 0 || errno == EEXIST);
    cr_assert(mkdir(ssh_dir, 0700) == 0 || errno == EEXIST);
    setenv("HOME", home, 1);
    unsetenv("SSH_AUTH_SOCK");
    return ssh_dir;
}

/* A config that sets nothing about keys, agent or known_hosts. */
static pssh_config *bare_config(void)
{
    pssh_config *cfg = NULL;
    cr_assert_eq(pssh_config_new(&cfg), PSSH_OK);
    pssh_config_set_retries(cfg, 0, 0);
    pssh_config_set_timeout(cfg, (int)within(30000));
    return cfg;
}

/* ~/.ssh/known_hosts is the default known_hosts (strict by default), and
 * ~/.ssh/id_ed25519 a default identity, with HOME taken from the
 * environment. */
Test(auth, default_known_hosts_and_identity_from_home)
{
    const char *ssh_dir = temp_home();
    char kh[400], id[400], msg[512];
    snprintf(kh, sizeof kh, "%s/known_hosts", ssh_dir);
    snprintf(id, sizeof id, "%s/id_ed25519", ssh_dir);
    cr_assert_eq(try_connect(fleet_host(1), bare_config(), msg, sizeof msg), PSSH_E_HOSTKEY_UNKNOWN, "%s", msg);
    cr_assert(strstr(msg, kh) != NULL, "%s does not name %s", msg, kh);
    copy_file(fleet("FLEET_KNOWN_HOSTS"), kh);
    cr_assert_eq(try_connect(fleet_host(1), bare_config(), msg, sizeof msg), PSSH_E_AUTH, "%s", msg);
    copy_file(fleet("FLEET_KEY"), id);
    cr_assert_eq(try_connect(fleet_host(1), bare_config(), msg, sizeof msg), PSSH_OK, "%s", msg);
    pssh_config *off = bare_config();
    pssh_config_set_default_identities(off, 0);
    cr_assert_eq(try_connect(fleet_host(1), off, msg, sizeof msg), PSSH_E_AUTH, "%s", msg);
}

/* The agent is on by default when SSH_AUTH_SOCK is set, off otherwise. */
Test(auth, agent_is_the_default_when_ssh_auth_sock_is_set, .fini = stop_agent)
{
    const char *ssh_dir = temp_home();
    char kh[400], msg[512];
    snprintf(kh, sizeof kh, "%s/known_hosts", ssh_dir);
    copy_file(fleet("FLEET_KNOWN_HOSTS"), kh);
    start_agent(fleet("FLEET_KEY"));
    cr_assert_eq(try_connect(fleet_host(1), bare_config(), msg, sizeof msg), PSSH_OK, "%s", msg);
    unsetenv("SSH_AUTH_SOCK");
    cr_assert_eq(try_connect(fleet_host(1), bare_config(), msg, sizeof msg), PSSH_E_AUTH, "%s", msg);
}

/* ---- host keys ---- */

/* A known_hosts file for host 1 with the given line(s). */
static const char *known_hosts_with(const char *name, const char *body)
{
    return fleet_write_file(name, body);
}

static char *pub_blob(const char *pubfile)
{
    static char buf[1024];
    FILE *f = fopen(fleet_path(pubfile), "r");
    cr_assert_not_null(f);
    char type[64];
    cr_assert_eq(fscanf(f, "%63s %1000s", type, buf), 2);
    fclose(f);
    return buf;
}

static pssh_config *policy_config(const char *known_hosts, pssh_host_key_policy p)
{
    pssh_config *cfg = fleet_config();
    cr_assert_eq(pssh_config_set_known_hosts(cfg, known_hosts), PSSH_OK);
    cr_assert_eq(pssh_config_set_host_key_policy(cfg, p), PSSH_OK);
    return cfg;
}

Test(hostkey, unknown_host_under_each_policy)
{
    char path[256], msg[512];
    snprintf(path, sizeof path, "%s/kh_new_%d", fleet("FLEET_DIR"), (int)getpid());
    unlink(path);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(path, PSSH_HOSTKEY_STRICT), msg, sizeof msg),
                 PSSH_E_HOSTKEY_UNKNOWN);
    cr_assert(strstr(msg, "accept-new") != NULL, "%s", msg);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(path, PSSH_HOSTKEY_OFF), NULL, 0), PSSH_OK);
    cr_assert_eq(access(path, F_OK), -1, "policy off writes nothing");
    cr_assert_eq(try_connect(fleet_host(1), policy_config(path, PSSH_HOSTKEY_ACCEPT_NEW), NULL, 0), PSSH_OK);
    /* Now known: strict accepts it. */
    cr_assert_eq(try_connect(fleet_host(1), policy_config(path, PSSH_HOSTKEY_STRICT), msg, sizeof msg), PSSH_OK, "%s", msg);
    unlink(path);
}

static char *slurp_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* One known_hosts line of `name` (whole, with its newline) in text. */
static int count_lines_of(const char *text, const char *name)
{
    int n = 0;
    size_t len = strlen(name);
    for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        const char *end = strchr(l, '\n');
        if (!strncmp(l, name, len) && l[len] == ' ' && end && strchr(l + len + 1, ' ') < end)
            n++;
    }
    return n;
}

/* accept-new appends after what is there: a file with another host's
 * entry and no final newline keeps that entry whole, and gets ours on a
 * line of its own; a second connection adds nothing. (Issue 14 item 9:
 * the two entries used to merge into one broken line.) */
Test(hostkey, accept_new_appends_after_other_entries)
{
    char path[256], body[2048], name[64], msg[512];
    snprintf(path, sizeof path, "%s/kh_other_%d", fleet("FLEET_DIR"), (int)getpid());
    snprintf(body, sizeof body, "other.example ssh-ed25519 %s", pub_blob("id_wrong.pub"));
    fleet_write_file(strrchr(path, '/') + 1, body); /* no final newline */
    cr_assert_eq(try_connect(fleet_host(1), policy_config(path, PSSH_HOSTKEY_ACCEPT_NEW), msg, sizeof msg), PSSH_OK,
                 "%s", msg);
    char after[65536];
    snprintf(after, sizeof after, "%s", slurp_text(path));
    size_t blen = strlen(body);
    cr_assert(!strncmp(after, body, blen) && after[blen] == '\n', "the other entry was changed:\n%s", after);
    snprintf(name, sizeof name, "[127.0.0.1]:%d", fleet_port());
    cr_assert_eq(count_lines_of(after + blen + 1, name), 1, "no line of its own:\n%s", after);
    const char *nl = strchr(after + blen + 1, '\n');
    cr_assert(nl && nl[1] == 0, "more than one line added:\n%s", after);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(path, PSSH_HOSTKEY_ACCEPT_NEW), msg, sizeof msg), PSSH_OK);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(path, PSSH_HOSTKEY_STRICT), msg, sizeof msg), PSSH_OK,
                 "%s", msg);
    cr_assert_str_eq(slurp_text(path), after, "a known host was added again");
    unlink(path);
}

/* Several unknown hosts accepted in one parallel run (every host of the
 * fleet): each gets exactly one line, and strict then accepts them all. */
Test(hostkey, accept_new_for_several_hosts_in_one_run)
{
    enum { MAX = 16 };
    const int hosts_n = atoi(fleet("FLEET_COUNT")) < MAX ? atoi(fleet("FLEET_COUNT")) : MAX;
    cr_assert(hosts_n >= 2);
    char path[256], owned[MAX][64];
    const char *hosts[MAX];
    snprintf(path, sizeof path, "%s/kh_many_%d", fleet("FLEET_DIR"), (int)getpid());
    unlink(path);
    for (int i = 0; i < hosts_n; i++) {
        snprintf(owned[i], sizeof owned[i], "%s", fleet_host(i + 1));
        hosts[i] = owned[i];
    }
    for (int strict = 0; strict <= 1; strict++) {
        pssh_config *cfg = policy_config(path, strict ? PSSH_HOSTKEY_STRICT : PSSH_HOSTKEY_ACCEPT_NEW);
        pssh_parallel *p = NULL;
        cr_assert_eq(pssh_parallel_new(NULL, hosts, (size_t)hosts_n, cfg, NULL, &p), PSSH_OK);
        pssh_config_free(cfg);
        pssh_parallel_set_stop_on_errors(p, 0);
        pssh_output *outs[MAX];
        cr_assert_eq(pssh_parallel_run_command(p, "true", NULL, outs), PSSH_OK);
        cr_assert_eq(pssh_parallel_join(p, 60000, 0, NULL), PSSH_OK);
        for (int i = 0; i < hosts_n; i++) {
            cr_assert_eq(pssh_output_error(outs[i]), PSSH_OK, "%s", pssh_output_error_message(outs[i]));
            pssh_output_unref(outs[i]);
        }
        pssh_parallel_unref(p);
    }
    const char *text = slurp_text(path);
    size_t lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, (size_t)hosts_n, "%zu lines:\n%s", lines, text);
    for (int i = 0; i < hosts_n; i++) {
        char name[64];
        snprintf(name, sizeof name, "[127.0.0.%d]:%d", i + 1, fleet_port());
        cr_assert_eq(count_lines_of(text, name), 1, "host %d:\n%s", i + 1, text);
    }
    unlink(path);
}

Test(hostkey, mismatch_is_refused_unless_off)
{
    char body[2048], msg[512];
    snprintf(body, sizeof body, "[127.0.0.1]:%d ssh-ed25519 %s\n", fleet_port(), pub_blob("id_wrong.pub"));
    const char *kh = known_hosts_with("kh_mismatch", body);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(kh, PSSH_HOSTKEY_STRICT), msg, sizeof msg), PSSH_E_HOSTKEY);
    cr_assert(strstr(msg, "MISMATCH") && strstr(msg, "kh_mismatch:1"), "%s", msg);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(kh, PSSH_HOSTKEY_ACCEPT_NEW), msg, sizeof msg), PSSH_E_HOSTKEY);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(kh, PSSH_HOSTKEY_OFF), NULL, 0), PSSH_OK);
}

Test(hostkey, revoked_key_is_refused)
{
    char body[4096], msg[512];
    const char *hk = pub_blob("host_ed25519.pub");
    snprintf(body, sizeof body, "[127.0.0.1]:%d ssh-ed25519 %s\n@revoked [127.0.0.1]:%d ssh-ed25519 %s\n",
             fleet_port(), hk, fleet_port(), hk);
    const char *kh = known_hosts_with("kh_revoked", body);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(kh, PSSH_HOSTKEY_ACCEPT_NEW), msg, sizeof msg), PSSH_E_HOSTKEY);
    cr_assert(strstr(msg, "revoked") != NULL, "%s", msg);
}

/* libssh2 would read "@cert-authority" as a host name; it must be ignored,
 * and a hashed entry must match. */
Test(hostkey, hashed_entries_and_markers)
{
    char body[4096], cmd[512];
    const char *hk = pub_blob("host_ed25519.pub");
    snprintf(body, sizeof body, "@cert-authority *.example ssh-ed25519 %s\n# comment\n\n[127.0.0.1]:%d ssh-ed25519 %s\n",
             hk, fleet_port(), hk);
    const char *kh = known_hosts_with("kh_hashed", body);
    snprintf(cmd, sizeof cmd, "ssh-keygen -q -H -f %s >/dev/null 2>&1", kh);
    cr_assert_eq(system(cmd), 0);
    FILE *f = fopen(kh, "r");
    char text[4096] = {0};
    cr_assert(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    cr_assert(strstr(text, "|1|") != NULL, "ssh-keygen -H hashed nothing: %s", text);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(kh, PSSH_HOSTKEY_STRICT), NULL, 0), PSSH_OK);
}

/* The servers offer ECDSA and ed25519; known_hosts has ed25519 only.
 * libssh2 prefers ECDSA: without our preference this reads as unknown. */
Test(hostkey, key_type_known_is_preferred)
{
    char body[2048], msg[512];
    snprintf(body, sizeof body, "[127.0.0.1]:%d ssh-ed25519 %s\n", fleet_port(), pub_blob("host_ed25519.pub"));
    const char *kh = known_hosts_with("kh_ed_only", body);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(kh, PSSH_HOSTKEY_STRICT), msg, sizeof msg), PSSH_OK, "%s", msg);
    snprintf(body, sizeof body, "[127.0.0.1]:%d ecdsa-sha2-nistp256 %s\n", fleet_port(), pub_blob("host_ecdsa.pub"));
    kh = known_hosts_with("kh_ecdsa_only", body);
    cr_assert_eq(try_connect(fleet_host(1), policy_config(kh, PSSH_HOSTKEY_STRICT), msg, sizeof msg), PSSH_OK, "%s", msg);
}

/* Keys signed by libpssh itself (parsed once per loop): ECDSA of each curve
 * in OpenSSH, PEM and PKCS#8 form, and ed25519 in PKCS#8 form. Each key is
 * made for the test and authorized on the fleet. */
Test(auth, keys_of_every_supported_format)
{
    fleet_require_owned("its authorized_keys");
    const char *cases[][2] = {
        {"t_ecdsa256", "ssh-keygen -q -t ecdsa -b 256 -N '' -f %s"},
        {"t_ecdsa384_pem", "ssh-keygen -q -t ecdsa -b 384 -m PEM -N '' -f %s"},
        {"t_ecdsa521_pkcs8", "ssh-keygen -q -t ecdsa -b 521 -m PKCS8 -N '' -f %s"},
        /* ssh-keygen cannot read PKCS#8 ed25519: the .pub is built from the raw key. */
        {"t_ed25519_pkcs8", "openssl genpkey -algorithm ed25519 -out %s && openssl pkey -in %s -pubout -outform DER | "
                            "tail -c 32 | python3 -c 'import sys,base64,struct; k=sys.stdin.buffer.read(); "
                            "t=b\"ssh-ed25519\"; print(\"ssh-ed25519\", base64.b64encode(struct.pack(\">I\",len(t))+t+"
                            "struct.pack(\">I\",len(k))+k).decode())' > %s.pub"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], cmd[1024];
        snprintf(path, sizeof path, "%s/%s_%d", fleet("FLEET_DIR"), cases[i][0], (int)getpid());
        unlink(path);
        snprintf(cmd, sizeof cmd, cases[i][1], path, path, path);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        snprintf(cmd, sizeof cmd, "cat %s.pub >> %s", path, fleet_path("authorized_keys"));
        cr_assert_eq(system(cmd), 0);
        pssh_config *cfg = fleet_config();
        cr_assert_eq(pssh_config_set_pkey_file(cfg, path, NULL), PSSH_OK);
        char msg[512];
        cr_assert_eq(try_connect_with(fleet_host(1), cfg, msg, sizeof msg), PSSH_OK, "%s: %s", cases[i][0], msg);
        /* A second connection on a fresh loop and on the same key works too. */
        cr_assert_eq(try_connect_with(fleet_host(2), cfg, msg, sizeof msg), PSSH_OK, "%s: %s", cases[i][0], msg);
        pssh_config_free(cfg);
    }
}
