#include "relay.hpp"

#include "../ssh/config.hpp"
#include "forwarder_thread.hpp"
#include "socket_pair.hpp"

#include <cstring>
#include <unistd.h>
#include <utility>

namespace pssh {

uint64_t Relay::open(const Settings &st, TunnelTarget *t, std::string *why)
{
    int fds[2];
    if (int rc = make_socket_pair(fds); rc < 0) {
        *why = std::string("socketpair: ") + strerror(-rc);
        return 0;
    }
    uint64_t id = next_++;
    const std::string &last = st.proxies.back().display;
    entries_[id] = Entry{t, fds[0], st.host + ":" + std::to_string(st.port) + " through " + last};
    ToMain m{ToMain::Kind::RelayOpen};
    m.id = id;
    m.fd = fds[1];
    m.host = st.host;
    m.port = st.port;
    core_.to_main(std::move(m));
    return id;
}

void Relay::close(uint64_t id) noexcept
{
    auto it = entries_.find(id);
    if (it == entries_.end())
        return;
    if (it->second.fd >= 0)
        ::close(it->second.fd);
    entries_.erase(it);
    ToMain m{ToMain::Kind::RelayClose};
    m.id = id;
    core_.to_main(std::move(m));
}

std::string Relay::pending(uint64_t id) const
{
    auto it = entries_.find(id);
    return it == entries_.end() ? std::string("reaching the proxy") : "reaching " + it->second.where;
}

void Relay::opened(uint64_t id)
{
    auto it = entries_.find(id);
    if (it == entries_.end())
        return;
    it->second.target->on_tunnel_open(std::exchange(it->second.fd, -1));
}

void Relay::failed(uint64_t id, const Failure &f, bool final)
{
    auto it = entries_.find(id);
    if (it == entries_.end())
        return;
    TunnelTarget *t = it->second.target;
    if (it->second.fd >= 0)
        ::close(it->second.fd);
    entries_.erase(it); // the provider lets go, as TunnelTarget says
    core_.note_relay_failure(final);
    t->on_tunnel_failed(f, final);
}

void Relay::lost(uint64_t id, const Failure &f)
{
    auto it = entries_.find(id);
    if (it != entries_.end())
        it->second.target->on_tunnel_lost(f);
}

void Relay::teardown() noexcept
{
    for (auto &e : entries_)
        if (e.second.fd >= 0)
            ::close(e.second.fd);
    entries_.clear();
}

} // namespace pssh
