// A file transfer on one host: the transfer kind of Output (its result is
// a pssh_output like a command's, with the same join, errors, callbacks and
// timings). SFTP does the directory work (stat, mkdir -p, listing, the
// final rename) for both protocols, as parallel-ssh does; the file data
// goes over SFTP or SCP.
//
// Setup opens the SFTP session; running walks the items (files,
// directories, links) one at a time. A file is written under a temporary
// name in its own directory and renamed into place once complete, on
// either side, so a failed or interrupted transfer never leaves a
// truncated file under the final name.
//
// Memory per transfer: one buffer of kXferBuffer bytes, plus what libssh2
// keeps in flight for it (about as much again), plus the list of items of
// a tree. Local reads and writes are at most one buffer long, and a step
// yields to the loop after kStepBudget of them.
#pragma once
#include "../ssh/output.hpp"
#include "closer.hpp"
#include "local_file.hpp"
#include "posix_rename.hpp"
#include "spec.hpp"

#include <deque>
#include <memory>
#include <vector>

struct _LIBSSH2_SFTP;
struct _LIBSSH2_SFTP_HANDLE;

namespace pssh {

class Transfer final : public Output {
public:
    static Ref<Output> create(Ref<Session> s, TransferSpec spec, Sink *sink = nullptr, size_t tag = 0,
                              Ref<Pool> pool = {});
    void transfer_stats(uint64_t *done, uint64_t *total, double *ms) const noexcept override;

private:
    enum class Phase {
        Init, Plan, RootStat, ListOpen, ListRead, ListClose, ListResolve, MkdirStat, Mkdir, MkdirCheck,
        Next, TargetStat, PutOpen, ScpProbeClose, PutPump, PutDiagnose, PutSetstat, PutClose, ScpSendOpen, ScpSendPump,
        ScpSendEnd, ScpSendClose, Rename, RenamePlain, RenameUnlink, GetOpen, GetPump, GetClose, ScpRecvOpen,
        ScpRecvPump, ScpRecvClose, DirMake, DirCheck, DirAttrs, LinkUnlink, LinkMake, LinkVerify, Shutdown
    };
    struct PendingLink {
        XferItem item;
    };

    Transfer(Ref<Session> s, TransferSpec spec);
    static Limits limits_of(const TransferSpec &spec);
    ~Transfer() override;

    Wait step_setup() override;
    Wait step_running() override;
    Wait step_closing() override;
    void on_stop() noexcept override;
    const char *kind() const noexcept override { return spec_.scp ? "scp" : "sftp"; }

    Wait run_phase();
    Wait plan();
    Wait list_step();
    Wait mkdir_step();
    Wait next_item();
    Wait put_step();
    Wait scp_send_step();
    Wait rename_step();
    Wait get_step();
    Wait scp_recv_step();
    Wait dir_step();
    Wait dir_attrs_step();
    Wait items_over();
    Wait link_step();
    Wait item_done();

    // Failures: the transfer's class (PSSH_E_SFTP or PSSH_E_SCP), and a
    // message naming host, operation, path and cause.
    Wait fail_sftp(long rc, const char *op, const std::string &path);
    Wait fail_local(const std::string &why);
    Wait fail_msg(const std::string &msg);
    pssh_err code() const noexcept { return spec_.scp ? PSSH_E_SCP : PSSH_E_SFTP; }
    std::string prefix() const;
    void progress();
    bool budget_spent();
    Leftovers take_leftovers() noexcept;

    TransferSpec spec_;
    Phase phase_ = Phase::Init;
    _LIBSSH2_SFTP *sftp_ = nullptr;
    _LIBSSH2_SFTP_HANDLE *fh_ = nullptr; // file or directory handle
    bool open_in_flight_ = false;        // sftp_init, scp_send64 or scp_recv2 not done
    std::vector<XferItem> items_;
    size_t next_ = 0;
    size_t attrs_left_ = 0;           // preserve: directories still to get their mode and times
    XferItem *cur_ = nullptr;
    std::deque<size_t> dirs_to_list_; // get: items_ indexes of directories
    std::vector<XferItem> links_;     // get: links met while listing, resolved after
    size_t link_idx_ = 0;
    std::string mk_target_;           // remote mkdir -p target
    std::vector<std::string> mk_parts_;
    size_t mk_idx_ = 0;
    std::string mk_err_;
    std::string remote_tmp_;          // the remote temporary file being written
    bool remote_tmp_made_ = false;
    PosixRename posix_rename_;
    bool rename_tried_plain_ = false;
    int local_fd_ = -1;
    bool local_eof_ = false;
    LocalWriter writer_;
    std::unique_ptr<char[]> buf_;
    size_t boff_ = 0, bend_ = 0;
    uint64_t file_left_ = 0;          // scp: bytes of this file still to come
    std::string scp_reply_;           // scp: what the remote said after the data
    bool scp_eof_sent_ = false;
    std::string link_err_;            // a symlink error, checked against the result
    int steps_ = 0;                   // buffers moved in this step
    uint64_t done_ = 0, total_ = 0;
    Nanos t_start_ = 0, t_end_ = 0;
    uint64_t reported_ = ~uint64_t(0);
};

} // namespace pssh
