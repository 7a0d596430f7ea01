#include "pool.hpp"

namespace pssh {

Pooled::~Pooled()
{
    leave_list();
    leave_slot();
}

void Pooled::join_pool(Ref<Pool> p)
{
    pool_ = std::move(p);
    pool_->enqueue(this);
}

void Pooled::leave_slot() noexcept
{
    if (!holds_slot_)
        return;
    holds_slot_ = false;
    Ref<Pool> p = std::move(pool_); // the pool may outlive only through us
    p->slot_freed();
}

void Pool::set_limit(size_t n)
{
    limit_ = n;
    pump();
}

void Pool::enqueue(Pooled *p)
{
    queue_.push_back(p);
    pump();
}

void Pool::slot_freed()
{
    if (in_setup_ > 0)
        in_setup_--;
    pump();
}

// Admits waiting entries while there is room. Re-entered when an entry
// settles at once (a host that fails before it begins): the outer call
// goes on.
void Pool::pump()
{
    if (pumping_)
        return;
    Ref<Pool> self = Ref<Pool>::share(this);
    pumping_ = true;
    while (in_setup_ < limit_) {
        Pooled *p = queue_.pop_front();
        if (!p)
            break;
        in_setup_++;
        p->holds_slot_ = true;
        p->admit();
    }
    pumping_ = false;
}

} // namespace pssh
