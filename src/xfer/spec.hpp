// What one host's transfer does: direction, protocol, paths and options.
#pragma once
#include "pssh/pssh.h"

#include <cstddef>
#include <string>

namespace pssh {

struct TransferSpec {
    bool scp = false;        // SCP carries the file data; SFTP does the rest
    bool put = true;         // local -> remote
    std::string local, remote;
    bool recurse = false;
    bool preserve = false;   // keep mode and mtime (scp -p)
    bool copy_links = false; // symlinks copied as links (default: followed)
    int timeout_ms = 0;      // the transfer's own deadline (0: none)
    pssh_progress_fn *progress = nullptr;
    void *userdata = nullptr;
};

// Local file buffer per transfer: libssh2 1.10 pipelines SFTP writes over
// what it is handed and reads ahead in proportion to the buffer it is given
// (bench/xfer_bench measures the size that saturates one host).
constexpr size_t kXferBuffer = 1 << 20;

// Builds the spec from the public options; PSSH_E_INVAL with *why.
pssh_err make_transfer_spec(bool scp, bool put, const char *local, const char *remote,
                            const pssh_xfer_opts *opts, TransferSpec &out, std::string *why);

} // namespace pssh
