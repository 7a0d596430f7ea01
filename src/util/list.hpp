// A minimal intrusive doubly linked list: O(1) unlink from anywhere, no
// allocation. An element derives from Linked<Tag> once per list it can be
// on; a node unlinks itself when destroyed.
#pragma once
#include <cstddef>

namespace pssh {

struct ListNode {
    ListNode *prev = nullptr;
    ListNode *next = nullptr;

    ListNode() = default;
    ListNode(const ListNode &) = delete;
    ListNode &operator=(const ListNode &) = delete;
    ~ListNode() { unlink(); }

    bool linked() const noexcept { return next != nullptr; }
    void unlink() noexcept
    {
        if (!next)
            return;
        prev->next = next;
        next->prev = prev;
        prev = next = nullptr;
    }
};

template <class Tag> struct Linked : ListNode {
    bool in_list() const noexcept { return linked(); }
    void leave_list() noexcept { unlink(); }
};

// Circular list with a sentinel, of T deriving from Linked<Tag>.
template <class T, class Tag> class List {
    using Node = Linked<Tag>;

public:
    List() noexcept { head_.prev = head_.next = &head_; }
    List(const List &) = delete;
    List &operator=(const List &) = delete;
    ~List() { clear(); }

    bool empty() const noexcept { return head_.next == &head_; }
    void push_back(T *t) noexcept
    {
        ListNode *n = static_cast<Node *>(t);
        n->unlink();
        n->prev = head_.prev;
        n->next = &head_;
        head_.prev->next = n;
        head_.prev = n;
    }
    static void remove(T *t) noexcept { static_cast<Node *>(t)->unlink(); }
    static bool contains_node(const T *t) noexcept { return static_cast<const Node *>(t)->linked(); }
    T *front() const noexcept { return empty() ? nullptr : owner(head_.next); }
    T *pop_front() noexcept
    {
        T *t = front();
        if (t)
            remove(t);
        return t;
    }
    // The element after t, or nullptr at the end.
    T *next(const T *t) const noexcept
    {
        const ListNode *n = static_cast<const Node *>(t)->next;
        return n == &head_ ? nullptr : owner(n);
    }
    void clear() noexcept
    {
        while (!empty())
            head_.next->unlink();
    }
    size_t size() const noexcept
    {
        size_t n = 0;
        for (const ListNode *p = head_.next; p != &head_; p = p->next)
            ++n;
        return n;
    }

private:
    static T *owner(const ListNode *n) noexcept
    {
        return static_cast<T *>(static_cast<Node *>(const_cast<ListNode *>(n)));
    }
    ListNode head_;
};

} // namespace pssh
