#include "ssh_config_support.hpp"

#include "config/ssh_config.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

namespace unit {

namespace {

const char *const kKeys[] = {"user",         "hostname",          "port",          "compression",
                             "identitiesonly", "stricthostkeychecking", "connectionattempts",
                             "serveraliveinterval", "identityfile",  "userknownhostsfile",
                             "connecttimeout", "proxycommand",     "proxyjump"};

std::string normalise(const std::string &text)
{
    std::vector<std::pair<std::string, std::string>> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto sp = line.find(' ');
        const std::string key = line.substr(0, sp);
        if (std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys))
            lines.emplace_back(key, line);
    }
    std::stable_sort(lines.begin(), lines.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    std::string out;
    for (const auto &l : lines)
        out += l.second + "\n";
    return out;
}

std::string with_dir(std::string text, const std::string &dir)
{
    for (size_t at; (at = text.find("@DIR@")) != std::string::npos;)
        text.replace(at, 5, dir);
    return text;
}

} // namespace

SshAnswers ssh_answers(const SshCase &c)
{
    TempDir dir;
    const std::string path = dir.file("config");
    write_file(path, with_dir(c.config, dir.path()));
    for (const auto &[name, text] : c.files)
        write_file(dir.file(name), with_dir(text, dir.path()));
    SshAnswers a;
    pssh::SshConfigCache cache;
    pssh::SshResolved r;
    if (pssh::resolve_ssh_config(cache, {path}, {c.host, c.user, c.port}, r, &a.why) != PSSH_OK)
        a.ours = "ERROR";
    else
        a.ours = normalise(pssh::ssh_config_dump(r));
    std::vector<std::string> argv = {"sh", "-c", "exec ssh -G -F \"$@\" 2>/dev/null", "sh", path};
    if (!c.user.empty())
        argv.insert(argv.end(), {"-l", c.user});
    if (c.port)
        argv.insert(argv.end(), {"-p", std::to_string(c.port)});
    argv.push_back(c.host);
    RunResult res = run(argv);
    a.theirs = res.status != 0 ? "ERROR" : normalise(res.out);
    return a;
}

std::string describe(const SshCase &c)
{
    std::string s = "ssh -G";
    if (!c.user.empty())
        s += " -l " + c.user;
    if (c.port)
        s += " -p " + std::to_string(c.port);
    s += " " + c.host + " with:\n" + c.config;
    for (const auto &[name, text] : c.files)
        s += "--- @DIR@/" + name + ":\n" + text;
    return s;
}

} // namespace unit
