#include "ssh_config_file.hpp"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>

namespace pssh {

namespace {

constexpr size_t kMaxIdentityFiles = 100; // ssh's SSH_MAX_IDENTITY_FILES
constexpr size_t kMaxHostsFiles = 32;     // SSH_MAX_HOSTS_FILES

struct Keyword {
    const char *name;
    SshKey key;
};

// Lowercase names. Keywords not listed are ignored, whether ssh knows them
// (LogLevel, SendEnv, ControlMaster...: nothing for a batch client to do)
// or not.
constexpr Keyword kKeywords[] = {
    {"host", SshKey::Host},
    {"match", SshKey::Match},
    {"include", SshKey::Include},
    {"user", SshKey::User},
    {"hostname", SshKey::HostName},
    {"port", SshKey::Port},
    {"identityfile", SshKey::IdentityFile},
    {"identitiesonly", SshKey::IdentitiesOnly},
    {"connecttimeout", SshKey::ConnectTimeout},
    {"connectionattempts", SshKey::ConnectionAttempts},
    {"stricthostkeychecking", SshKey::StrictHostKeyChecking},
    {"userknownhostsfile", SshKey::UserKnownHostsFile},
    {"serveraliveinterval", SshKey::ServerAliveInterval},
    {"compression", SshKey::Compression},
    {"proxyjump", SshKey::ProxyJump},
    {"proxycommand", SshKey::ProxyCommand},
    {"hostkeyalias", SshKey::HostKeyAlias},
    {"canonicalizehostname", SshKey::CanonicalizeHostname},
    // They change which host is reached, how it is authenticated or
    // verified, or what the remote side gets: ignoring them silently would
    // surprise, so each gives one warning when it applies to a host.
    {"addressfamily", SshKey::Unsupported},
    {"bindaddress", SshKey::Unsupported},
    {"bindinterface", SshKey::Unsupported},
    {"canonicaldomains", SshKey::Unsupported},
    {"certificatefile", SshKey::Unsupported},
    {"challengeresponseauthentication", SshKey::Unsupported},
    {"ciphers", SshKey::Unsupported},
    {"dynamicforward", SshKey::Unsupported},
    {"forwardagent", SshKey::Unsupported},
    {"globalknownhostsfile", SshKey::Unsupported},
    {"hostbasedauthentication", SshKey::Unsupported},
    {"hostkeyalgorithms", SshKey::Unsupported},
    {"identityagent", SshKey::Unsupported},
    {"kbdinteractiveauthentication", SshKey::Unsupported},
    {"kexalgorithms", SshKey::Unsupported},
    {"knownhostscommand", SshKey::Unsupported},
    {"localcommand", SshKey::Unsupported},
    {"localforward", SshKey::Unsupported},
    {"macs", SshKey::Unsupported},
    {"passwordauthentication", SshKey::Unsupported},
    {"pkcs11provider", SshKey::Unsupported},
    {"preferredauthentications", SshKey::Unsupported},
    {"pubkeyacceptedalgorithms", SshKey::Unsupported},
    {"pubkeyacceptedkeytypes", SshKey::Unsupported},
    {"pubkeyauthentication", SshKey::Unsupported},
    {"remotecommand", SshKey::Unsupported},
    {"remoteforward", SshKey::Unsupported},
    {"requesttty", SshKey::Unsupported},
    {"revokedhostkeys", SshKey::Unsupported},
    {"securitykeyprovider", SshKey::Unsupported},
    {"sessiontype", SshKey::Unsupported},
    {"setenv", SshKey::Unsupported},
    {"tunnel", SshKey::Unsupported},
    {"tunneldevice", SshKey::Unsupported},
    {"verifyhostkeydns", SshKey::Unsupported},
};

const Keyword *find_keyword(const std::string &lower)
{
    for (const Keyword &k : kKeywords)
        if (lower == k.name)
            return &k;
    return nullptr;
}

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// ssh's strdelim: the next token of a line, split at blanks, a quote or one
// '='. Returns false when a quote is left open (ssh then drops the line).
bool next_word(std::string_view &s, std::string &word, bool &none)
{
    none = false;
    size_t i = 0;
    while (i < s.size() && !is_ws(s[i]) && s[i] != '"' && s[i] != '=')
        i++;
    if (i == s.size()) {
        word.assign(s);
        s = {};
        none = true; // nothing follows
        return true;
    }
    if (s[i] == '"') {
        const auto close = s.find('"', i + 1);
        if (close == std::string_view::npos)
            return false;
        word.assign(s.substr(0, i));
        word.append(s.substr(i + 1, close - i - 1));
        s.remove_prefix(close + 1);
        while (!s.empty() && is_ws(s.front()))
            s.remove_prefix(1);
        return true;
    }
    const bool equals = s[i] == '=';
    word.assign(s.substr(0, i));
    s.remove_prefix(i + 1);
    while (!s.empty() && is_ws(s.front()))
        s.remove_prefix(1);
    if (!equals && !s.empty() && s.front() == '=') {
        s.remove_prefix(1);
        while (!s.empty() && is_ws(s.front()))
            s.remove_prefix(1);
    }
    return true;
}

// ssh's argv_split with comments: blanks separate, quotes group, "\\",
// "\"", "\'" and (outside quotes) "\ " escape, '#' starting an argument
// ends the line. False for a quote left open.
bool split_args(std::string_view s, std::vector<std::string> &out)
{
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        if (s[i] == '#')
            break;
        std::string arg;
        char quote = 0;
        for (; i < s.size(); i++) {
            const char c = s[i];
            if (c == '\\' && i + 1 < s.size() &&
                (s[i + 1] == '\'' || s[i + 1] == '"' || s[i + 1] == '\\' || (quote == 0 && s[i + 1] == ' '))) {
                arg += s[++i];
            } else if (quote == 0 && (c == ' ' || c == '\t')) {
                break;
            } else if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else if (quote != 0 && c == quote) {
                quote = 0;
            } else {
                arg += c;
            }
        }
        if (quote != 0)
            return false;
        out.push_back(std::move(arg));
    }
    return true;
}

// strtoll over the whole string, as OpenSSH's strtonum reads numbers.
bool to_ll(const std::string &s, long long &v)
{
    if (s.empty())
        return false;
    char *end = nullptr;
    errno = 0;
    v = strtoll(s.c_str(), &end, 10);
    return errno != ERANGE && end && *end == '\0' && end != s.c_str();
}

struct State {
    const char *name;
    int value;
};
constexpr State kFlags[] = {{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}};
constexpr State kStrict[] = {{"true", kStrictYes}, {"false", kStrictOff}, {"yes", kStrictYes},
                             {"no", kStrictOff},   {"ask", kStrictAsk},   {"off", kStrictOff},
                             {"accept-new", kStrictNew}};
constexpr State kCompression[] = {{"yes", 1}, {"no", 0}};
constexpr State kCanon[] = {{"true", kCanonYes}, {"false", kCanonNo}, {"yes", kCanonYes},
                            {"no", kCanonNo},    {"always", kCanonAlways}};

template <size_t N> bool multistate(const std::string &arg, const State (&table)[N], int &v)
{
    for (const State &s : table)
        if (strcasecmp(arg.c_str(), s.name) == 0) {
            v = s.value;
            return true;
        }
    return false;
}

class LineParser {
public:
    LineParser(SshConfigFile &f, unsigned line) : f_(f), line_(line) {}

    bool bad(const std::string &why)
    {
        f_.error = f_.path + " line " + std::to_string(line_) + ": " + why;
        return false;
    }

    bool parse(std::string_view text);

private:
    bool one_arg(SshStatement &st)
    {
        if (st.args.empty() || st.args[0].empty())
            return bad("missing argument to " + st.keyword);
        if (st.args.size() > 1)
            return bad("keyword " + lower_ + " extra arguments at end of line");
        return true;
    }
    bool values(SshStatement &st);
    bool match(SshStatement &st);

    SshConfigFile &f_;
    unsigned line_;
    std::string lower_;
};

bool LineParser::parse(std::string_view text)
{
    if (auto nul = text.find('\0'); nul != std::string_view::npos)
        text = text.substr(0, nul); // ssh reads C strings
    while (text.size() > 1 && (is_ws(text.back()) || text.back() == '\f'))
        text.remove_suffix(1);
    std::string keyword;
    bool none;
    if (!next_word(text, keyword, none))
        return true; // an open quote in the keyword: ssh skips the line
    if (keyword.empty() && !none && !next_word(text, keyword, none))
        return true;
    if (keyword.empty() || keyword[0] == '#' || keyword[0] == '\n')
        return true;
    lower_ = keyword;
    for (char &c : lower_)
        c = char(tolower(static_cast<unsigned char>(c)));
    while (!text.empty() && is_ws(text.front()))
        text.remove_prefix(1);
    if (text.empty())
        return bad("no argument after keyword \"" + lower_ + "\"");
    const Keyword *k = find_keyword(lower_);
    if (!k)
        return true; // unknown or of no use here: ignored
    SshStatement st{k->key, line_, keyword, {}, 0, {}};
    if (k->key == SshKey::ProxyCommand || k->key == SshKey::ProxyJump) {
        // Both read the rest of the raw line, quotes and comment included,
        // as ssh 9.2 does.
        while (!text.empty() && (is_ws(text.front()) || text.front() == '='))
            text.remove_prefix(1);
        st.args.emplace_back(text);
        SshJump j;
        if (k->key == SshKey::ProxyJump && !ssh_parse_jump(st.args[0], j))
            return bad("Invalid ProxyJump \"" + st.args[0] + "\"");
        f_.statements.push_back(std::move(st));
        return true;
    }
    if (k->key == SshKey::Match) {
        // ssh 9.2 reads Match's words as it reads keywords: '=' splits too
        // ("Match Host=web*"), and a word starting with '#' ends the line.
        for (bool none = false; !none;) {
            std::string word;
            if (!next_word(text, word, none) || word.empty() || word[0] == '#')
                break;
            st.args.push_back(std::move(word));
        }
        if (!text.empty() && text[0] != '#')
            return bad("keyword match extra arguments at end of line");
    } else if (!split_args(text, st.args)) {
        return bad("invalid quotes");
    }
    if (!values(st))
        return false;
    f_.statements.push_back(std::move(st));
    return true;
}

bool LineParser::values(SshStatement &st)
{
    const std::string arg = st.args.empty() ? std::string() : st.args[0];
    switch (st.key) {
    case SshKey::Host:
    case SshKey::Include:
    case SshKey::UserKnownHostsFile:
        // No argument at all (only a comment) is not an error for ssh.
        for (size_t i = 0; i < st.args.size(); i++) {
            if (st.args[i].empty())
                return bad("keyword " + lower_ + " empty argument");
            if (st.key == SshKey::UserKnownHostsFile && strcasecmp(st.args[i].c_str(), "none") == 0 &&
                st.args.size() > 1)
                return bad("keyword " + lower_ + " \"none\" argument must appear alone.");
        }
        if (st.key == SshKey::UserKnownHostsFile && st.args.size() > kMaxHostsFiles)
            return bad("too many " + lower_ + " entries.");
        return true;
    case SshKey::Match:
        return match(st);
    case SshKey::User:
    case SshKey::HostName:
    case SshKey::IdentityFile:
    case SshKey::HostKeyAlias:
        return one_arg(st);
    case SshKey::Port:
        if (!one_arg(st))
            return false;
        if ((st.value = ssh_a2port(arg)) <= 0)
            return bad("Bad port '" + arg + "'.");
        return true;
    case SshKey::IdentitiesOnly:
    case SshKey::Compression:
    case SshKey::StrictHostKeyChecking:
    case SshKey::CanonicalizeHostname: {
        bool ok = st.key == SshKey::IdentitiesOnly          ? multistate(arg, kFlags, st.value)
                  : st.key == SshKey::Compression           ? multistate(arg, kCompression, st.value)
                  : st.key == SshKey::StrictHostKeyChecking ? multistate(arg, kStrict, st.value)
                                                            : multistate(arg, kCanon, st.value);
        if (!ok)
            return bad("unsupported option \"" + arg + "\".");
        return st.args.size() <= 1 || bad("keyword " + lower_ + " extra arguments at end of line");
    }
    case SshKey::ConnectTimeout:
    case SshKey::ServerAliveInterval:
        if (arg.empty())
            return bad("missing time value.");
        // "none" leaves the value unset: a later line may still set it.
        if (arg == "none")
            st.value = -1;
        else if ((st.value = ssh_convtime(arg)) < 0)
            return bad("invalid time value.");
        return st.args.size() <= 1 || bad("keyword " + lower_ + " extra arguments at end of line");
    case SshKey::ConnectionAttempts: {
        long long v;
        if (arg.empty())
            return bad("integer value missing.");
        if (!to_ll(arg, v))
            return bad("integer value invalid.");
        if (v < 0)
            return bad("integer value too small.");
        if (v > INT_MAX)
            return bad("integer value too large.");
        st.value = int(v);
        return st.args.size() <= 1 || bad("keyword " + lower_ + " extra arguments at end of line");
    }
    case SshKey::ProxyJump:
    case SshKey::ProxyCommand:
    case SshKey::Unsupported:
        return true;
    }
    return true;
}

bool LineParser::match(SshStatement &st)
{
    static const struct {
        const char *name;
        SshMatchCriterion::Attr attr;
    } attrs[] = {{"canonical", SshMatchCriterion::Canonical}, {"final", SshMatchCriterion::Final},
                 {"exec", SshMatchCriterion::Exec},           {"host", SshMatchCriterion::Host},
                 {"originalhost", SshMatchCriterion::OriginalHost}, {"user", SshMatchCriterion::User},
                 {"localuser", SshMatchCriterion::LocalUser}};
    size_t attributes = 0;
    for (size_t i = 0; i < st.args.size(); i++) {
        std::string name = st.args[i];
        SshMatchCriterion c{SshMatchCriterion::All, false, {}};
        if ((c.negate = !name.empty() && name[0] == '!'))
            name.erase(0, 1);
        if (strcasecmp(name.c_str(), "all") == 0) {
            if (attributes > 1 || i + 1 < st.args.size())
                return bad("'" + st.args[i] + "' cannot be combined with other Match attributes");
            st.match.push_back(c);
            return true;
        }
        attributes++;
        bool known = false;
        for (const auto &a : attrs)
            if (strcasecmp(name.c_str(), a.name) == 0) {
                c.attr = a.attr;
                known = true;
            }
        if (!known)
            return bad("Unsupported Match attribute " + name);
        if (c.attr != SshMatchCriterion::Canonical && c.attr != SshMatchCriterion::Final) {
            if (i + 1 >= st.args.size() || st.args[i + 1].empty())
                return bad("Missing Match criteria for " + name);
            c.arg = st.args[++i];
        }
        st.match.push_back(std::move(c));
    }
    if (attributes == 0)
        return bad("One or more attributes required for Match");
    return true;
}

// ssh's hpdelim: the host part of "host:port", "[v6]:port" or "host/x";
// rest is what follows the delimiter (nullptr when nothing does).
bool host_part(std::string &s, std::string &host, bool &has_rest, std::string &rest, char &delim)
{
    size_t end;
    if (!s.empty() && s[0] == '[') {
        end = s.find(']');
        if (end == std::string::npos)
            return false;
        end++;
    } else {
        end = s.find_first_of(":/");
        if (end == std::string::npos)
            end = s.size();
    }
    host = s.substr(0, end);
    has_rest = end < s.size();
    if (has_rest && s[end] != ':' && s[end] != '/')
        return false;
    delim = has_rest ? s[end] : 0;
    rest = has_rest ? s.substr(end + 1) : std::string();
    return true;
}

std::string clean_host(const std::string &h)
{
    return h.size() >= 2 && h.front() == '[' && h.back() == ']' ? h.substr(1, h.size() - 2) : h;
}

// [user@]host[:port]
bool user_host_port(std::string s, SshJump &j)
{
    if (auto at = s.rfind('@'); at != std::string::npos) {
        if (at == 0)
            return false;
        j.user = s.substr(0, at);
        s.erase(0, at + 1);
    }
    std::string host, rest;
    bool has_rest;
    char delim;
    if (s.empty() || !host_part(s, host, has_rest, rest, delim) || host.empty())
        return false;
    j.host = clean_host(host);
    if (has_rest && !rest.empty() && (j.port = ssh_a2port(rest)) <= 0)
        return false;
    return true;
}

bool valid_domain_chars(const std::string &h)
{
    if (h.empty() || !isalnum(static_cast<unsigned char>(h[0])))
        return false;
    for (char c : h)
        if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
            return false;
    return true;
}

// ssh://[user[;params]@]host[:port][/]: 1 when not such a URI, -1 when bad.
int ssh_uri(const std::string &uri, SshJump &j)
{
    if (uri.rfind("ssh://", 0) != 0)
        return 1;
    std::string s = uri.substr(6);
    if (auto at = s.find('@'); at != std::string::npos) {
        std::string user = s.substr(0, at);
        if (auto semi = user.find(';'); semi != std::string::npos)
            user.erase(semi);
        if (user.empty())
            return -1;
        j.user = user;
        s.erase(0, at + 1);
    }
    std::string host, rest;
    bool has_rest;
    char delim;
    if (s.empty() || !host_part(s, host, has_rest, rest, delim) || host.empty())
        return -1;
    j.host = clean_host(host);
    if (host.front() != '[' && !valid_domain_chars(j.host))
        return -1;
    if (has_rest && !rest.empty()) {
        if (delim == ':') {
            auto slash = rest.find('/');
            if ((j.port = ssh_a2port(rest.substr(0, slash))) <= 0)
                return -1;
            rest = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
        }
        if (!rest.empty())
            return -1; // a path is not allowed
    }
    return 0;
}

} // namespace

bool ssh_parse_jump(const std::string &value, SshJump &out)
{
    out = SshJump{};
    if (strcasecmp(value.c_str(), "none") == 0) {
        out.none = true;
        return true;
    }
    // Only the whole value "none" means none ("none # x" names a host
    // "none"); otherwise a comment goes, and so does all after a blank.
    std::string s = value.substr(0, value.find('#'));
    s = s.substr(0, s.find_first_of(" \t\r\n"));
    bool last = true;
    while (true) {
        const auto comma = s.rfind(',');
        const std::string hop = comma == std::string::npos ? s : s.substr(comma + 1);
        SshJump j;
        int r = ssh_uri(hop, j);
        if (r == -1 || (r == 1 && !user_host_port(hop, j)))
            return false;
        if (last) {
            out.user = j.user;
            out.host = j.host;
            out.port = j.port;
            last = false;
        }
        if (comma == std::string::npos)
            break;
        s.erase(comma);
    }
    if (auto comma = value.rfind(','); comma != std::string::npos && comma != 0)
        out.extra = value.substr(0, comma);
    return true;
}

int ssh_convtime(std::string_view s)
{
    if (s.empty())
        return -1;
    const std::string str(s);
    const char *p = str.c_str();
    long total = 0;
    while (*p) {
        char *end = nullptr;
        errno = 0;
        long secs = strtol(p, &end, 10);
        if (end == p || (errno == ERANGE && (secs == LONG_MIN || secs == LONG_MAX)) || secs < 0)
            return -1;
        long mult = 1;
        switch (*end++) {
        case '\0':
            end--;
            break;
        case 's':
        case 'S':
            break;
        case 'm':
        case 'M':
            mult = 60;
            break;
        case 'h':
        case 'H':
            mult = 60 * 60;
            break;
        case 'd':
        case 'D':
            mult = 24 * 60 * 60;
            break;
        case 'w':
        case 'W':
            mult = 7 * 24 * 60 * 60;
            break;
        default:
            return -1;
        }
        if (secs > INT_MAX / mult)
            return -1;
        secs *= mult;
        if (total > INT_MAX - secs)
            return -1;
        total += secs;
        p = end;
    }
    return int(total);
}

int ssh_a2port(const std::string &s)
{
    long long v;
    if (to_ll(s, v))
        return v >= 0 && v <= 65535 ? int(v) : -1;
    servent se{}, *res = nullptr;
    char buf[1024];
    if (getservbyname_r(s.c_str(), "tcp", &se, buf, sizeof buf, &res) == 0 && res)
        return ntohs(uint16_t(res->s_port));
    return -1;
}

bool parse_ssh_config(std::string_view text, const std::string &path, SshConfigFile &out)
{
    out.path = path;
    out.statements.clear();
    out.error.clear();
    unsigned line = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view one = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        LineParser p(out, ++line);
        if (!p.parse(one))
            return false;
    }
    return true;
}

} // namespace pssh
