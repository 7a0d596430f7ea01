// known_hosts_bench: CPU per connection of the host-key lookup path, on a
// generated known_hosts file, through the library's internals (the static
// library the unit tests link).
//
//   known_hosts_bench [--lines N] [--lookups M] [--plain] [--accept-new K]
//
// 1. lookup: a file of N lines (default 10,000), one per host "[10.a.b.c]:2222",
//    hashed as `ssh-keygen -H` and Debian's HashKnownHosts write them (a new
//    salt per line) unless --plain. Then M connections (default 10,000) to
//    hosts spread over the file, each timed alone on the thread CPU clock:
//    everything a connection does with known_hosts before and after its
//    handshake (the cache's freshness check, the key types to prefer, the
//    verdict on the server's key).
// 2. accept-new: K first contacts (default 2,000) with an empty file under
//    accept-new: each finds its host unknown, appends its line and leaves the
//    cache for the next connection. Reports the first and the last 10% apart,
//    so growth with the file shows.
// Prints key=value lines: medians in microseconds of CPU.
#include "ssh/host_key_check.hpp"
#include "ssh/known_hosts.hpp"
#include "ssh/known_hosts_cache.hpp"
#include "ssh/wire.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

const std::string kType = "ssh-ed25519";
const int kPort = 2222;

double thread_cpu_us()
{
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e6 + double(t.tv_nsec) / 1e3;
}

std::string host_name(int i)
{
    return "10." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) + "." +
           std::to_string(i & 255);
}

std::string key_blob(int i)
{
    std::string b("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
    for (int k = 0; k < 32; k++)
        b += char((i * 131 + k * 7) ^ (i >> 8));
    return b;
}

std::string hashed_name(const std::string &name)
{
    unsigned char salt[20], mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    RAND_bytes(salt, sizeof salt);
    HMAC(EVP_sha1(), salt, sizeof salt, reinterpret_cast<const unsigned char *>(name.data()), name.size(), mac,
         &len);
    return "|1|" + pssh::base64_encode(std::string_view(reinterpret_cast<char *>(salt), sizeof salt)) + "|" +
           pssh::base64_encode(std::string_view(reinterpret_cast<char *>(mac), len));
}

std::string file_line(int i, bool hashed)
{
    std::string plain = pssh::known_hosts_line(host_name(i), kPort, kType, key_blob(i));
    if (!hashed)
        return plain;
    return hashed_name("[" + host_name(i) + "]:" + std::to_string(kPort)) + plain.substr(plain.find(' '));
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

long maxrss_kib()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// What one connection does with known_hosts, through the session's own
// steps (HostKeyCheck, without libssh2): the lookup and the key types to
// prefer before the handshake, then the verdict on the key the server
// showed (and, under accept-new, the append of an unknown host's key).
pssh::Failure connection(pssh::KnownHostsCache &cache, const std::string &path, pssh_host_key_policy policy,
                         const std::string &host, const std::string &blob, std::string &pref, bool &added)
{
    pssh::Settings st;
    st.host = host;
    st.port = kPort;
    st.cfg.known_hosts = path;
    st.cfg.policy = policy;
    pssh::HostKeyCheck check;
    (void)check.lookup(cache, st);
    pref = check.preference();
    return check.verify(cache, st, kType, blob, &added);
}

struct Options {
    int lines = 10000, lookups = 10000, accept_new = 2000;
    bool hashed = true;
};

int usage()
{
    fprintf(stderr, "usage: known_hosts_bench [--lines N] [--lookups M] [--plain] [--accept-new K]\n");
    return 2;
}

bool parse(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto num = [&](int &v, int lo, int hi) {
            if (i + 1 >= argc)
                return false;
            char *end = nullptr;
            long x = strtol(argv[++i], &end, 10);
            if (*end || x < lo || x > hi)
                return false;
            v = int(x);
            return true;
        };
        if (a == "--lines" ? !num(o.lines, 1, 1000000)
            : a == "--lookups" ? !num(o.lookups, 0, 1000000)
            : a == "--accept-new" ? !num(o.accept_new, 0, 100000)
            : a == "--plain" ? (o.hashed = false, false)
            : true)
            return false;
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    if (!parse(argc, argv, o))
        return usage();
    char dir[] = "/tmp/pssh-khbench.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const std::string path = std::string(dir) + "/known_hosts";
    int failures = 0;

    // 1. Lookups against a large file.
    {
        std::string text;
        for (int i = 0; i < o.lines; i++)
            text += file_line(i, o.hashed);
        FILE *f = fopen(path.c_str(), "w");
        if (!f || fwrite(text.data(), 1, text.size(), f) != text.size() || fclose(f) != 0) {
            perror(path.c_str());
            return 1;
        }
        long rss0 = maxrss_kib();
        pssh::KnownHostsCache cache;
        double t0 = thread_cpu_us();
        bool read_ok = cache.get(path) != nullptr;
        double parse_us = thread_cpu_us() - t0;
        long rss1 = maxrss_kib();
        std::vector<double> us;
        us.reserve(size_t(o.lookups));
        std::string pref;
        double t_all = thread_cpu_us();
        for (int k = 0; k < o.lookups && read_ok; k++) {
            int i = int((long long)k * 7919 % o.lines); // spread over the file
            bool added = false;
            double t = thread_cpu_us();
            pssh::Failure f = connection(cache, path, PSSH_HOSTKEY_STRICT, host_name(i), key_blob(i), pref, added);
            us.push_back(thread_cpu_us() - t);
            if (f || pref.rfind(kType + ",", 0) != 0)
                failures++;
        }
        double total_s = (thread_cpu_us() - t_all) / 1e6;
        printf("known_hosts_bench lookup: lines=%d hashed=%d bytes=%zu lookups=%zu failures=%d parse_ms=%.1f "
               "parse_rss_kib=%ld median_us=%.1f p90_us=%.1f max_us=%.1f total_cpu_s=%.2f\n",
               o.lines, int(o.hashed), text.size(), us.size(), failures, parse_us / 1e3, rss1 - rss0, median(us),
               percentile(us, 0.9), us.empty() ? 0.0 : *std::max_element(us.begin(), us.end()), total_s);
        fflush(stdout);
    }

    // 2. accept-new, first contact with every host.
    if (o.accept_new > 0) {
        unlink(path.c_str());
        pssh::KnownHostsCache cache;
        std::vector<double> us;
        std::string pref;
        double t_all = thread_cpu_us();
        for (int i = 0; i < o.accept_new; i++) {
            const std::string host = host_name(i), blob = key_blob(i);
            bool added = false;
            double t = thread_cpu_us();
            pssh::Failure f = connection(cache, path, PSSH_HOSTKEY_ACCEPT_NEW, host, blob, pref, added);
            us.push_back(thread_cpu_us() - t);
            if (f || !added)
                failures++;
        }
        double total_s = (thread_cpu_us() - t_all) / 1e6;
        size_t tenth = std::max<size_t>(1, us.size() / 10);
        std::vector<double> first(us.begin(), us.begin() + long(tenth)), last(us.end() - long(tenth), us.end());
        // The file as written must hold every host once.
        pssh::KnownHostsCache fresh;
        auto known = fresh.get(path);
        for (int i = 0; i < o.accept_new; i++)
            if (!known || known->check(host_name(i), kPort, kType, key_blob(i)).status != pssh::HostKeyStatus::Match)
                failures++;
        printf("known_hosts_bench accept-new: hosts=%d failures=%d first10pct_median_us=%.1f "
               "last10pct_median_us=%.1f total_cpu_s=%.2f\n",
               o.accept_new, failures, median(first), median(last), total_s);
    }
    unlink(path.c_str());
    rmdir(dir);
    return failures ? 1 : 0;
}
