#include "forwarders.hpp"

#include "../ssh/config.hpp"
#include "../ssh/loop.hpp"
#include "socket_pair.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <unistd.h>
#include <utility>

namespace pssh {

namespace {

void add(EVP_MD_CTX *ctx, const std::string &s)
{
    uint64_t n = s.size();
    EVP_DigestUpdate(ctx, &n, sizeof n);
    EVP_DigestUpdate(ctx, s.data(), s.size());
}

void add(EVP_MD_CTX *ctx, int64_t v) { EVP_DigestUpdate(ctx, &v, sizeof v); }

// Hops 1..n as a connection makes them: the same key means the same
// forwarder. A digest, so that no secret is kept in the key.
std::string hop_key(const std::vector<ProxyHop> &hops, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        throw std::bad_alloc();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    for (size_t i = 0; i < n; i++) {
        const ProxyHop &h = hops[i];
        const Config &c = h.cfg;
        add(ctx, h.host);
        add(ctx, h.port);
        add(ctx, h.user);
        add(ctx, c.password.value);
        add(ctx, c.has(Config::kPkey));
        add(ctx, c.pkey_path);
        add(ctx, c.pkey_data.value);
        add(ctx, c.has_passphrase);
        add(ctx, c.passphrase.value);
        add(ctx, int64_t(c.identity_files.size()));
        for (const std::string &f : c.identity_files)
            add(ctx, f);
        add(ctx, c.agent);
        add(ctx, c.default_identities);
        add(ctx, c.known_hosts);
        add(ctx, int64_t(c.policy));
        add(ctx, c.timeout_ms);
        add(ctx, c.keepalive_s);
        add(ctx, c.ipv6_only);
        add(ctx, c.compress);
        add(ctx, c.rsa_sha1);
    }
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    return std::string(reinterpret_cast<char *>(md), len);
}

std::string host_port(const std::string &host, int port)
{
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

} // namespace

// One host's stream: its end of the socketpair until the last proxy has
// opened the channel, and the forwarder it holds meanwhile.
struct Forwarders::Record final : TunnelWaiter {
    Forwarders &reg;
    const uint64_t id;
    TunnelTarget *target;
    Ref<Forwarder> fw;
    uint64_t tid = 0;
    int near = -1;
    std::string where;

    Record(Forwarders &r, uint64_t i, TunnelTarget *t) : reg(r), id(i), target(t) {}
    ~Record()
    {
        if (tid)
            fw->close(tid);
        if (near >= 0)
            ::close(near);
    }
    void tunnel_open() override { target->on_tunnel_open(std::exchange(near, -1)); }
    void tunnel_failed(const Failure &f, bool final) override
    {
        TunnelTarget *t = target;
        tid = 0; // the forwarder let go of it
        reg.records_.erase(id); // this record is gone from here on
        t->on_tunnel_failed(f, final);
    }
    void tunnel_lost(const Failure &f) override { target->on_tunnel_lost(f); }
};

std::unique_ptr<TunnelProvider> make_forwarders(Loop &loop) { return std::make_unique<Forwarders>(loop); }

Forwarders::Forwarders(Loop &loop) : loop_(loop) {}

Forwarders::~Forwarders()
{
    // Hosts hold the forwarders and the loop that holds us: none is left.
    records_.clear();
}

Ref<Forwarder> Forwarders::hop(const std::vector<ProxyHop> &hops, size_t n, std::string *why)
{
    std::string key = hop_key(hops, n);
    if (auto it = by_key_.find(key); it != by_key_.end())
        return Ref<Forwarder>::share(it->second);
    Ref<Forwarder> via;
    if (n > 1 && !(via = hop(hops, n - 1, why)))
        return {};
    uint64_t fid = next_fid_++;
    Ref<Forwarder> fw = Forwarder::start(*this, fid, key, hops, n, std::move(via), why);
    if (!fw)
        return {};
    by_key_[key] = fw.get();
    by_id_[fid] = fw.get();
    loop_.log(PSSH_LOG_DEBUG, "%s: forwarder thread started", hops[n - 1].display.c_str());
    return fw;
}

void Forwarders::forget(Forwarder *f) noexcept
{
    if (auto it = by_id_.find(f->id()); it != by_id_.end() && it->second == f)
        by_id_.erase(it);
    if (auto it = by_key_.find(f->key()); it != by_key_.end() && it->second == f)
        by_key_.erase(it);
}

void Forwarders::on_post(void *self, uintptr_t id)
{
    auto *reg = static_cast<Forwarders *>(self);
    if (auto it = reg->by_id_.find(uint64_t(id)); it != reg->by_id_.end())
        it->second->drain();
}

uint64_t Forwarders::open(const Settings &st, TunnelTarget *t, std::string *why)
{
    Ref<Forwarder> fw = hop(st.proxies, st.proxies.size(), why);
    if (!fw)
        return 0;
    int fds[2];
    if (int rc = make_socket_pair(fds); rc < 0) {
        *why = std::string("socketpair: ") + strerror(-rc);
        return 0;
    }
    uint64_t id = next_rid_++;
    auto rec = std::make_unique<Record>(*this, id, t);
    rec->near = fds[0];
    rec->fw = fw;
    rec->where = host_port(st.host, st.port);
    Record *r = rec.get();
    records_[id] = std::move(rec);
    r->tid = fw->open(st.host, st.port, fds[1], r);
    return id;
}

void Forwarders::close(uint64_t id) noexcept { records_.erase(id); }

std::string Forwarders::pending(uint64_t id) const
{
    auto it = records_.find(id);
    if (it == records_.end())
        return "reaching it through its proxy";
    const Record &r = *it->second;
    if (!r.fw->proxy_up())
        return "connecting to " + r.fw->display();
    return "waiting for " + r.fw->display() + " to open a channel to " + r.where;
}

} // namespace pssh
