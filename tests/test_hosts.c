/* Host ranges through the C ABI (issue 19): pssh_hosts_expand and the host
 * files of pssh_hosts_read_file give C callers the syntax pssh-run takes.
 * Public header only; no server needed. */
#include <criterion/criterion.h>
#include <pssh/pssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(hosts, .timeout = 60);

typedef struct {
    char text[4096];
    unsigned lines[64];
    size_t n, stop_at;
} seen;

static int collect(const char *host, unsigned line, void *ud)
{
    seen *s = ud;
    if (s->n < 64)
        s->lines[s->n] = line;
    strncat(s->text, s->n++ ? " " : "", sizeof s->text - strlen(s->text) - 1);
    strncat(s->text, host, sizeof s->text - strlen(s->text) - 1);
    return s->stop_at && s->n == s->stop_at;
}

static void expect_expands(const char *pattern, const char *want)
{
    seen s = {0};
    char why[256] = "";
    cr_assert_eq(pssh_hosts_expand(pattern, collect, &s, why, sizeof why), PSSH_OK, "%s: %s", pattern, why);
    cr_expect_str_eq(s.text, want, "%s", pattern);
    for (size_t i = 0; i < s.n && i < 64; i++)
        cr_expect_eq(s.lines[i], 0u, "no line for a pattern");
}

Test(hosts, ranges_lists_padding_and_several_brackets)
{
    expect_expands("web[01-03].example.com", "web01.example.com web02.example.com web03.example.com");
    expect_expands("node[1-3,7,10-12]", "node1 node2 node3 node7 node10 node11 node12");
    expect_expands("r[1-2]n[1-2]", "r1n1 r1n2 r2n1 r2n2");
    expect_expands("[08-11]", "08 09 10 11");
    expect_expands("root@db[1-2]:2222, login1", "root@db1:2222 root@db2:2222 login1");
    expect_expands("admin@[::1]:2222", "admin@[::1]:2222");
}

Test(hosts, malformed_or_too_many_is_host_arg_before_any_host)
{
    const char *bad[][2] = {
        {"web[01-]", "malformed host range 'web[01-]'"},
        {"web[3-1]", "goes backwards"},
        {"web[1-5", "'[' without ']'"},
        {"n[1-1000][1-1001]", "expands to more than 1,000,000 hosts"},
        {"ok1,n[1-2", "'[' without ']'"}, /* the good part is not given either */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seen s = {0};
        char why[256] = "";
        cr_expect_eq(pssh_hosts_expand(bad[i][0], collect, &s, why, sizeof why), PSSH_E_HOST_ARG, "%s", bad[i][0]);
        cr_expect_eq(s.n, 0u, "%s: %zu hosts given before the error", bad[i][0], s.n);
        cr_expect(strstr(why, bad[i][1]), "%s: '%s' lacks '%s'", bad[i][0], why, bad[i][1]);
    }
    /* Exactly a million is allowed; why may be NULL. */
    seen s = {.stop_at = 3};
    cr_expect_eq(pssh_hosts_expand("n[1-1000000]", collect, &s, NULL, 0), PSSH_E_INVAL, "stopped by fn");
    cr_expect_str_eq(s.text, "n1 n2 n3");
}

Test(hosts, arguments)
{
    seen s = {0};
    cr_expect_eq(pssh_hosts_expand(NULL, collect, &s, NULL, 0), PSSH_E_INVAL);
    cr_expect_eq(pssh_hosts_expand("a", NULL, &s, NULL, 0), PSSH_E_INVAL);
    cr_expect_eq(pssh_hosts_expand("", collect, &s, NULL, 0), PSSH_E_HOST_ARG, "no host at all");
}

Test(hosts, host_files_expand_each_line_with_its_number)
{
    char path[] = "/tmp/pssh-hosts-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char text[] = "# fleet\nweb[1-2]  # two\n\n db[08-09],login\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    seen s = {0};
    char why[256] = "";
    cr_assert_eq(pssh_hosts_read_file(path, collect, &s, why, sizeof why), PSSH_OK, "%s", why);
    cr_expect_str_eq(s.text, "web1 web2 db08 db09 login");
    const unsigned want[] = {2, 2, 4, 4, 4};
    for (size_t i = 0; i < 5; i++)
        cr_expect_eq(s.lines[i], want[i], "host %zu", i);

    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("ok1\nweb[2-1]\n", f);
    fclose(f);
    memset(&s, 0, sizeof s);
    cr_expect_eq(pssh_hosts_read_file(path, collect, &s, why, sizeof why), PSSH_E_HOST_ARG);
    char want_why[300];
    snprintf(want_why, sizeof want_why, "%s:2: malformed host range 'web[2-1]'", path);
    cr_expect(strncmp(why, want_why, strlen(want_why)) == 0, "'%s' does not start with '%s'", why, want_why);
    unlink(path);
}
