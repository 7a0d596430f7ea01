// shell_quote and build_command: the exact strings command.hpp documents,
// and proof by /bin/sh that the quoting gives back the original bytes.
#include "ssh/command.hpp"
#include "support.hpp"

#include <sys/stat.h>

using pssh::build_command;
using pssh::shell_quote;

namespace {

// Nasty inputs for a shell: quotes, expansions, globbing, separators.
const char *const kTricky[] = {
    "",          "plain",        "it's",         "''",          "'",         "a b  c",     "$HOME",
    "${PATH}",   "`id`",         "$(id)",        "\\",          "\\'",       "\"",         "*",
    "?",         "[a-z]",        "~",            "!x",          "a;b",       "a&&b|c",     "<in >out",
    "#comment",  "line1\nline2", "tab\there",    "-n",          "--",        "%s%n",       "\xc3\xa9t\xc3\xa9",
    "'\\''",     "end\\",        "x'y'z'",       "a\"b'c$d`e\\f",
};

pssh_cmd_opts opts() { return PSSH_CMD_OPTS_INIT; }

// Runs `sh -c script` with PATH prefixed by dir (for a fake sudo).
unit::RunResult sh(const std::string &script, const std::string &path_prefix = "")
{
    std::vector<std::string> env;
    if (!path_prefix.empty())
        env.push_back("PATH=" + path_prefix + ":" + (getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"));
    return unit::run({"/bin/sh", "-c", script}, env);
}

} // namespace

Test(command, shell_quote_exact)
{
    EXPECT_STR_EQ(shell_quote(""), "''");
    EXPECT_STR_EQ(shell_quote("abc"), "'abc'");
    EXPECT_STR_EQ(shell_quote("it's"), "'it'\\''s'");
    EXPECT_STR_EQ(shell_quote("'"), "''\\'''");
    EXPECT_STR_EQ(shell_quote("a b"), "'a b'");
    EXPECT_STR_EQ(shell_quote(std::string("a\0b", 3)), std::string("'a\0b'", 5));
}

// One shell run prints every word NUL-terminated: each must come back
// as one argument, byte for byte.
Test(command, shell_quote_survives_the_shell)
{
    std::string script = "printf '%s\\0'", want;
    for (const char *s : kTricky) {
        script += " " + shell_quote(s);
        want += std::string(s) + '\0';
    }
    unit::RunResult r = sh(script);
    cr_expect(r.status == 0 && r.out == want, "got \"%s\" (status %d)\nwant \"%s\"", unit::show(r.out).c_str(),
              r.status, unit::show(want).c_str());
}

Test(command, build_command_exact_forms)
{
    EXPECT_STR_EQ(build_command("ls -l", nullptr), "ls -l");
    pssh_cmd_opts o = opts();
    EXPECT_STR_EQ(build_command("ls -l", &o), "ls -l");

    o = opts();
    o.shell = "bash -c";
    EXPECT_STR_EQ(build_command("echo it's", &o), "bash -c 'echo it'\\''s'");

    o = opts();
    o.sudo = 1;
    EXPECT_STR_EQ(build_command("id -u; whoami", &o), "sudo -S sh -c 'id -u; whoami'");

    o = opts();
    o.user = "bob";
    EXPECT_STR_EQ(build_command("id", &o), "sudo -S -u 'bob' sh -c 'id'");

    o = opts();
    o.sudo = 1;
    o.user = "bob";
    EXPECT_STR_EQ(build_command("id", &o), "sudo -S -u 'bob' sh -c 'id'");

    o = opts();
    o.sudo = 1;
    o.shell = "zsh -c";
    EXPECT_STR_EQ(build_command("id", &o), "sudo -S zsh -c 'id'");

    o = opts();
    o.user = "o'neil";
    o.shell = "bash -c";
    EXPECT_STR_EQ(build_command("id", &o), "sudo -S -u 'o'\\''neil' bash -c 'id'");
}

Test(command, empty_strings_mean_not_set)
{
    pssh_cmd_opts o = opts();
    o.user = "";
    o.shell = "";
    EXPECT_STR_EQ(build_command("uptime", &o), "uptime");
    o.sudo = 1;
    EXPECT_STR_EQ(build_command("uptime", &o), "sudo -S sh -c 'uptime'");
    // Options that do not shape the command line change nothing.
    pssh_cmd_opts p = opts();
    p.use_pty = 1;
    p.timeout_ms = 5;
    p.read_timeout_ms = 5;
    p.buffer_limit = 7;
    EXPECT_STR_EQ(build_command("uptime", &p), "uptime");
}

Test(command, shell_option_runs_the_command_verbatim)
{
    pssh_cmd_opts o = opts();
    o.shell = "sh -c";
    std::string cmd = "printf '%s\\0'", want;
    for (const char *s : kTricky) {
        cmd += " " + shell_quote(s);
        want += std::string(s) + '\0';
    }
    cmd += "; printf '|%s' \"$0\"";
    want += "|sh";
    unit::RunResult r = sh(build_command(cmd, &o));
    cr_expect(r.status == 0 && r.out == want, "got \"%s\" (status %d)\nwant \"%s\"", unit::show(r.out).c_str(),
              r.status, unit::show(want).c_str());
}

// A fake sudo checks the argument layout and runs the rest, so the whole
// sudo line is proven through a real shell without root.
Test(command, sudo_line_through_a_fake_sudo)
{
    unit::TempDir dir;
    const std::string fake = dir.file("sudo");
    cr_assert(unit::write_file(fake, "#!/bin/sh\n"
                                     "[ \"$1\" = -S ] || { echo 'no -S first' >&2; exit 90; }\n"
                                     "shift\n"
                                     "if [ \"$1\" = -u ]; then printf 'user=%s;' \"$2\"; shift 2; fi\n"
                                     "exec \"$@\"\n"));
    chmod(fake.c_str(), 0755);
    const char *users[] = {nullptr, "bob", "o'neil", "a b", "$USER"};
    const char *shells[] = {nullptr, "sh -c"};
    for (const char *user : users) {
        for (const char *shell : shells) {
            pssh_cmd_opts o = opts();
            o.sudo = 1;
            o.user = user;
            o.shell = shell;
            std::string cmd = "printf '%s\\0'", want = user ? "user=" + std::string(user) + ";" : "";
            for (const char *s : {"it's", "$HOME `id`", "a\"b'c$d`e\\f", "x; y && z"}) {
                cmd += " " + shell_quote(s);
                want += std::string(s) + '\0';
            }
            cmd += "; printf '%s' \"$0\"";
            want += "sh";
            unit::RunResult r = sh(build_command(cmd, &o), dir.path());
            cr_expect(r.status == 0 && r.out == want, "user %s shell %s: got \"%s\" (status %d)",
                      user ? user : "-", shell ? shell : "-", unit::show(r.out).c_str(), r.status);
        }
    }
}
