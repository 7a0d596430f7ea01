// Intrusive reference counting. Objects start with one reference, which
// Ref<T>::adopt() takes over. Counts are not atomic: every object belongs to
// the thread that runs its loop.
#pragma once
#include <utility>

namespace pssh {

class RefCounted {
public:
    void ref() noexcept { ++refs_; }
    void unref() noexcept
    {
        if (--refs_ == 0)
            last_unref();
    }
    int refs() const noexcept { return refs_; }

protected:
    RefCounted() = default;
    RefCounted(const RefCounted &) = delete;
    RefCounted &operator=(const RefCounted &) = delete;
    virtual ~RefCounted() = default;
    // Called once when the count reaches zero; the default frees the object.
    virtual void last_unref() noexcept { delete this; }

private:
    int refs_ = 1;
};

template <class T> class Ref {
public:
    Ref() = default;
    // Takes over the reference the caller owns (e.g. from `new`).
    static Ref adopt(T *p) noexcept
    {
        Ref r;
        r.p_ = p;
        return r;
    }
    // Adds a reference.
    static Ref share(T *p) noexcept
    {
        if (p)
            p->ref();
        return adopt(p);
    }
    Ref(const Ref &o) noexcept : p_(o.p_)
    {
        if (p_)
            p_->ref();
    }
    Ref(Ref &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Ref &operator=(Ref o) noexcept
    {
        std::swap(p_, o.p_);
        return *this;
    }
    ~Ref() { reset(); }

    void reset() noexcept
    {
        if (T *p = std::exchange(p_, nullptr))
            p->unref();
    }
    // Gives the reference to the caller.
    T *release() noexcept { return std::exchange(p_, nullptr); }
    T *get() const noexcept { return p_; }
    T *operator->() const noexcept { return p_; }
    T &operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    T *p_ = nullptr;
};

} // namespace pssh
