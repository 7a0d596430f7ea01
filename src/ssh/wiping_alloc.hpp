// libssh2's allocator for our sessions: every block is wiped before it goes
// back to the heap. libssh2 keeps passwords, keyboard-interactive answers,
// signatures and session keys in buffers it frees plainly; an appliance's
// heap must not hand them to the next malloc (issue 14, item 18).
#pragma once
#include <libssh2.h>

namespace pssh {

LIBSSH2_ALLOC_FUNC(wiping_alloc);
LIBSSH2_FREE_FUNC(wiping_free);
LIBSSH2_REALLOC_FUNC(wiping_realloc);

} // namespace pssh
