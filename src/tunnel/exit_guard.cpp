#include "exit_guard.hpp"

#include "forwarder_thread.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace pssh::exit_guard {

namespace {

// Never destroyed: the exit handler uses them while statics go away.
std::mutex &mu()
{
    static auto *m = new std::mutex;
    return *m;
}
std::vector<ForwarderThread *> &live()
{
    static auto *v = new std::vector<ForwarderThread *>;
    return *v;
}
bool exiting = false;

void stop_all()
{
    std::vector<ForwarderThread *> all;
    {
        std::lock_guard<std::mutex> lock(mu());
        exiting = true;
        all.swap(live());
    }
    for (ForwarderThread *t : all) // every thread winds down at once
        t->stop();
    for (ForwarderThread *t : all)
        t->join();
}

} // namespace

bool enter(ForwarderThread *t)
{
    static std::once_flag once;
    std::call_once(once, [] { atexit(stop_all); });
    std::lock_guard<std::mutex> lock(mu());
    if (exiting)
        return false;
    live().push_back(t);
    return true;
}

bool leave(ForwarderThread *t) noexcept
{
    std::lock_guard<std::mutex> lock(mu());
    auto &v = live();
    auto it = std::find(v.begin(), v.end(), t);
    if (it == v.end())
        return false;
    v.erase(it);
    return true;
}

} // namespace pssh::exit_guard
