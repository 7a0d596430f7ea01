#include "ssh_config.hpp"

#include "ssh_pattern.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <glob.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pssh {

namespace {

constexpr int kMaxDepth = 16;              // ssh's READCONF_MAX_DEPTH
constexpr size_t kMaxIdentityFiles = 100;  // SSH_MAX_IDENTITY_FILES

struct LocalUser {
    std::string name, home;
    uid_t uid = 0;
};

LocalUser local_user()
{
    LocalUser me;
    me.uid = getuid();
    passwd pw{}, *res = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(me.uid, &pw, buf.data(), buf.size(), &res) == 0 && res) {
        me.name = pw.pw_name ? pw.pw_name : "";
        me.home = pw.pw_dir ? pw.pw_dir : "";
    }
    if (me.name.empty())
        if (const char *u = getenv("USER"))
            me.name = u;
    if (me.home.empty())
        if (const char *h = getenv("HOME"))
            me.home = h;
    return me;
}

std::string where(const SshConfigFile &f, const SshStatement &st)
{
    return f.path + " line " + std::to_string(st.line);
}

class Evaluator {
public:
    Evaluator(SshConfigCache &cache, const SshQuery &q, const LocalUser &me, SshOptions &o)
        : cache_(cache), q_(q), me_(me), o_(o)
    {
    }

    // One pass over the files, each starting in an active block.
    bool pass(const std::vector<std::string> &files, bool final_pass)
    {
        final_ = final_pass;
        for (const std::string &path : files) {
            bool active = true;
            if (!read(path, 0, active, false, false))
                return false;
        }
        return true;
    }

    bool want_final = false;
    pssh_err code = PSSH_OK;
    std::string err;

private:
    bool fail(pssh_err c, std::string msg)
    {
        code = c;
        err = std::move(msg);
        return false;
    }

    bool read(const std::string &path, int depth, bool &active, bool never, bool check_owner)
    {
        if (depth > kMaxDepth)
            return fail(PSSH_E_HOST_ARG, path + ": too many recursive Include (more than 16 deep)");
        bool missing = false;
        Failure e;
        auto f = cache_.get(path, check_owner, &missing, &e);
        if (!f)
            return missing || fail(e.code, e.msg);
        if (!f->error.empty())
            return fail(PSSH_E_HOST_ARG, f->error);
        for (const SshStatement &st : f->statements)
            if (!statement(*f, st, depth, active, never))
                return false;
        return true;
    }

    bool statement(const SshConfigFile &f, const SshStatement &st, int depth, bool &active, bool never)
    {
        switch (st.key) {
        case SshKey::Host:
            host_line(st, active, never);
            return true;
        case SshKey::Match:
            return match_line(f, st, active, never);
        case SshKey::Include:
            return include_line(f, st, depth, active, never);
        default:
            return !active || option(f, st);
        }
    }

    void host_line(const SshStatement &st, bool &active, bool never)
    {
        active = false;
        if (never)
            return;
        // The second pass matches the final host name (ssh reads the files
        // again for it); the first, the host as given.
        const std::string &name = final_ ? *o_.hostname : q_.host;
        for (const std::string &arg : st.args) {
            const bool negated = arg[0] == '!';
            if (!ssh_match_pattern(name, negated ? std::string_view(arg).substr(1) : std::string_view(arg)))
                continue;
            if (negated) {
                active = false;
                return;
            }
            active = true;
        }
    }

    bool match_line(const SshConfigFile &f, const SshStatement &st, bool &active, bool never)
    {
        std::string host = q_.host, why;
        if (final_)
            host = *o_.hostname;
        else if (o_.hostname && !ssh_percent_expand(*o_.hostname, {{'h', q_.host}}, false, host, &why))
            return fail(PSSH_E_HOST_ARG, where(f, st) + ": HostName: " + why);
        const std::string &ruser = o_.user ? *o_.user : me_.name;
        bool result = true;
        for (const SshMatchCriterion &c : st.match) {
            bool r = false;
            switch (c.attr) {
            case SshMatchCriterion::All:
                if (result)
                    result = !c.negate;
                goto done;
            case SshMatchCriterion::Final:
                want_final = true;
                [[fallthrough]];
            case SshMatchCriterion::Canonical:
                r = final_;
                break;
            case SshMatchCriterion::Exec:
                // Running commands to pick settings is not something a
                // library does: the block does not apply, with a warning.
                if (result) {
                    o_.ignored.push_back({"Match exec", where(f, st)});
                    result = false;
                }
                continue;
            case SshMatchCriterion::Host:
                r = ssh_match_hostname(host, c.arg) == 1;
                break;
            case SshMatchCriterion::OriginalHost:
                r = ssh_match_hostname(q_.host, c.arg) == 1;
                break;
            case SshMatchCriterion::User:
                r = ssh_match_pattern_list(ruser, c.arg, false) == 1;
                break;
            case SshMatchCriterion::LocalUser:
                r = ssh_match_pattern_list(me_.name, c.arg, false) == 1;
                break;
            }
            if (r == c.negate)
                result = false;
        }
    done:
        active = !never && result;
        return true;
    }

    bool include_line(const SshConfigFile &f, const SshStatement &st, int depth, bool &active, bool never)
    {
        for (const std::string &arg : st.args) {
            // Relative paths live in ~/.ssh, as for a file given to ssh -F.
            const std::string pattern = arg[0] == '/' || arg[0] == '~' ? arg : "~/.ssh/" + arg;
            glob_t g{};
            const int r = glob(pattern.c_str(), GLOB_TILDE, nullptr, &g);
            if (r == GLOB_NOMATCH) {
                globfree(&g);
                continue;
            }
            if (r != 0) {
                globfree(&g);
                return fail(PSSH_E_IO, where(f, st) + ": glob failed for " + pattern);
            }
            const bool outer = active;
            bool ok = true;
            for (size_t i = 0; ok && i < g.gl_pathc; i++) {
                ok = read(g.gl_pathv[i], depth + 1, active, never || !outer, true);
                active = outer; // an included file's blocks do not leak out
            }
            globfree(&g);
            if (!ok)
                return false;
        }
        return true;
    }

    bool option(const SshConfigFile &f, const SshStatement &st)
    {
        const std::string &arg = st.args.empty() ? empty_ : st.args[0];
        switch (st.key) {
        case SshKey::User:
            if (!o_.user)
                o_.user = arg;
            break;
        case SshKey::HostName:
            if (!o_.hostname)
                o_.hostname = arg;
            break;
        case SshKey::Port:
            first(o_.port, st.value);
            break;
        case SshKey::IdentityFile:
            if (o_.identity_files.size() >= kMaxIdentityFiles)
                return fail(PSSH_E_HOST_ARG, where(f, st) + ": too many identity files (max 100)");
            if (std::find(o_.identity_files.begin(), o_.identity_files.end(), arg) == o_.identity_files.end())
                o_.identity_files.push_back(arg);
            break;
        case SshKey::IdentitiesOnly:
            first(o_.identities_only, st.value);
            break;
        case SshKey::Compression:
            first(o_.compression, st.value);
            break;
        case SshKey::StrictHostKeyChecking:
            first(o_.strict, st.value);
            break;
        case SshKey::ConnectTimeout:
            first(o_.connect_timeout, st.value); // "none" (-1) leaves it unset
            break;
        case SshKey::ServerAliveInterval:
            first(o_.server_alive_interval, st.value);
            break;
        case SshKey::ConnectionAttempts:
            first(o_.connection_attempts, st.value);
            break;
        case SshKey::UserKnownHostsFile:
            if (o_.known_hosts.empty())
                o_.known_hosts = st.args;
            break;
        case SshKey::ProxyJump:
            // The first of ProxyJump and ProxyCommand wins.
            if (!o_.proxy_command && !o_.jump) {
                SshJump j;
                ssh_parse_jump(arg, j);
                o_.jump = j;
                if (!j.none)
                    o_.proxy_command = "none"; // no later ProxyCommand
            }
            break;
        case SshKey::ProxyCommand:
            // "ProxyJump none" does not stop a later ProxyCommand.
            if (!o_.proxy_command && !(o_.jump && !o_.jump->none)) {
                o_.proxy_command = arg;
                if (strcasecmp(arg.c_str(), "none") != 0)
                    o_.ignored.push_back({st.keyword, where(f, st)});
            }
            break;
        case SshKey::HostKeyAlias:
            if (!o_.host_key_alias) {
                o_.host_key_alias = arg;
                o_.ignored.push_back({st.keyword, where(f, st)});
            }
            break;
        case SshKey::CanonicalizeHostname:
            if (o_.canonicalize == -1) {
                o_.canonicalize = st.value;
                if (st.value != kCanonNo)
                    o_.ignored.push_back({st.keyword, where(f, st)});
            }
            break;
        case SshKey::Unsupported:
            o_.ignored.push_back({st.keyword, where(f, st)});
            break;
        case SshKey::Host:
        case SshKey::Match:
        case SshKey::Include:
            break;
        }
        return true;
    }

    static void first(int &slot, int value)
    {
        if (slot == -1)
            slot = value;
    }

    SshConfigCache &cache_;
    const SshQuery &q_;
    const LocalUser &me_;
    SshOptions &o_;
    bool final_ = false;
    const std::string empty_;
};

// ssh writes a numeric address in its canonical form (unless that differs
// only in case: "FE80::A" stays) and lowercases names.
std::string canonical_host(const std::string &host)
{
    addrinfo hints{}, *ai = nullptr;
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &ai) == 0 && ai) {
        char name[NI_MAXHOST];
        const bool ok = getnameinfo(ai->ai_addr, ai->ai_addrlen, name, sizeof name, nullptr, 0, NI_NUMERICHOST) == 0;
        freeaddrinfo(ai);
        if (ok)
            return strcasecmp(name, host.c_str()) == 0 ? host : name;
    }
    std::string out = host;
    for (char &c : out)
        c = char(tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string sha1_hex(const std::string &s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr))
        return {};
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; i++) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

SshTokens file_tokens(const SshResolved &r, const SshQuery &q, const LocalUser &me)
{
    char name[256] = "";
    if (gethostname(name, sizeof name - 1) != 0)
        name[0] = '\0';
    const std::string thishost = name;
    const std::string port = std::to_string(r.port);
    return {{'C', sha1_hex(thishost + r.hostname + port + r.user)},
            {'d', me.home},
            {'h', r.hostname},
            {'i', std::to_string(me.uid)},
            {'k', r.got.host_key_alias ? *r.got.host_key_alias : q.host},
            {'L', thishost.substr(0, thishost.find('.'))},
            {'l', thishost},
            {'n', q.host},
            {'p', port},
            {'r', r.user},
            {'u', me.name}};
}

bool expand_file(const std::string &path, const SshTokens &tokens, std::string &out, std::string *why)
{
    std::string tilded;
    return ssh_tilde_expand(path, tilded, why) && ssh_percent_expand(tilded, tokens, true, out, why);
}

std::string jump_text(const SshJump &j)
{
    const bool numeric = j.host.find(':') != std::string::npos ||
                         j.host.find_first_not_of("1234567890.") == std::string::npos;
    std::string s = j.extra.empty() ? "" : j.extra + ",";
    if (!j.user.empty())
        s += j.user + "@";
    s += numeric ? "[" + j.host + "]" : j.host;
    if (j.port > 0)
        s += ":" + std::to_string(j.port);
    return s;
}

} // namespace

pssh_err resolve_ssh_config(SshConfigCache &cache, const std::vector<std::string> &files, const SshQuery &q,
                            SshResolved &out, std::string *why)
{
    out = SshResolved{};
    SshOptions &o = out.got;
    const LocalUser me = local_user();
    if (!q.user.empty()) // given with the host: as ssh's -l, the files' User is not read
        o.user = q.user;
    if (q.port)
        o.port = q.port;
    Evaluator ev(cache, q, me, o);
    auto failed = [&](pssh_err code, const std::string &msg) {
        if (why)
            *why = msg;
        return code;
    };
    if (!ev.pass(files, false))
        return failed(ev.code, ev.err);
    std::string host = q.host, reason;
    if (o.hostname && !ssh_percent_expand(*o.hostname, {{'h', q.host}}, false, host, &reason))
        return failed(PSSH_E_HOST_ARG, "HostName '" + *o.hostname + "': " + reason);
    host = canonical_host(host);
    if (o.canonicalize > 0 || ev.want_final) {
        o.hostname = host;
        if (!ev.pass(files, true))
            return failed(ev.code, ev.err);
    }
    out.hostname = host;
    out.user = o.user ? *o.user : me.name;
    out.port = o.port > 0 ? o.port : 22;
    if (o.connection_attempts == 0)
        return failed(PSSH_E_HOST_ARG, "ConnectionAttempts 0: at least one attempt is needed");
    if (o.jump && !o.jump->none) {
        const SshJump &j = *o.jump;
        const int jport = j.port > 0 ? j.port : 22;
        const std::string &juser = j.user.empty() ? out.user : j.user;
        if (j.host == host && jport == out.port && juser == out.user)
            return failed(PSSH_E_HOST_ARG, "ProxyJump " + j.host + " is the host itself (a jump host loop)");
        out.proxy_jump = jump_text(j);
    }
    out.tokens = file_tokens(out, q, me);
    const std::vector<std::string> defaults = {"~/.ssh/known_hosts", "~/.ssh/known_hosts2"};
    for (const std::string &f : o.known_hosts.empty() ? defaults : o.known_hosts) {
        std::string path;
        if (!expand_file(f, out.tokens, path, &reason))
            return failed(PSSH_E_HOST_ARG, "UserKnownHostsFile '" + f + "': " + reason);
        out.known_hosts.push_back(path);
    }
    return PSSH_OK;
}

bool ssh_identity_paths(const SshResolved &r, std::vector<std::string> &out, std::string *why)
{
    out.clear();
    for (const std::string &f : r.got.identity_files) {
        std::string path;
        if (!expand_file(f, r.tokens, path, why)) {
            if (why)
                *why = "IdentityFile '" + f + "': " + *why;
            return false;
        }
        out.push_back(path);
    }
    return true;
}

std::string ssh_config_dump(const SshResolved &r)
{
    const SshOptions &o = r.got;
    auto yes_no = [](int v) { return v == 1 ? "yes" : "no"; };
    static const char *const strict[] = {"false", "true", "ask", "accept-new"};
    std::string s;
    s += "user " + r.user + "\n";
    s += "hostname " + r.hostname + "\n";
    s += "port " + std::to_string(r.port) + "\n";
    s += std::string("compression ") + yes_no(o.compression) + "\n";
    s += std::string("identitiesonly ") + yes_no(o.identities_only) + "\n";
    s += std::string("stricthostkeychecking ") + strict[o.strict == -1 ? kStrictAsk : o.strict] + "\n";
    s += "connectionattempts " + std::to_string(o.connection_attempts == -1 ? 1 : o.connection_attempts) + "\n";
    s += "serveraliveinterval " + std::to_string(o.server_alive_interval == -1 ? 0 : o.server_alive_interval) + "\n";
    static const char *const default_ids[] = {"~/.ssh/id_rsa",          "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk",
                                              "~/.ssh/id_ed25519",      "~/.ssh/id_ed25519_sk",
                                              "~/.ssh/id_xmss",         "~/.ssh/id_dsa"};
    if (o.identity_files.empty())
        for (const char *f : default_ids)
            s += std::string("identityfile ") + f + "\n";
    for (const std::string &f : o.identity_files)
        s += "identityfile " + f + "\n";
    s += "userknownhostsfile";
    for (const std::string &f : r.known_hosts)
        s += " " + f;
    s += "\n";
    s += o.connect_timeout == -1 ? std::string("connecttimeout none\n")
                                 : "connecttimeout " + std::to_string(o.connect_timeout) + "\n";
    if (o.proxy_command && strcasecmp(o.proxy_command->c_str(), "none") != 0)
        s += "proxycommand " + *o.proxy_command + "\n";
    if (!r.proxy_jump.empty())
        s += "proxyjump " + r.proxy_jump + "\n";
    return s;
}

} // namespace pssh
