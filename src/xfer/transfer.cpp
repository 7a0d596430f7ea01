#include "transfer.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pssh {

#define SET_STATE(s) set_state((s), __LINE__)

namespace {

constexpr int kStepBudget = 8; // buffers moved per step before yielding to the loop
constexpr size_t kMaxReply = 4096;

const char *sftp_cause(unsigned long code)
{
    switch (code) {
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_NO_SUCH_PATH:
        return "no such file or directory";
    case LIBSSH2_FX_PERMISSION_DENIED:
    case LIBSSH2_FX_WRITE_PROTECT:
        return "permission denied";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
    case LIBSSH2_FX_QUOTA_EXCEEDED:
        return "no space left on the remote filesystem";
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:
        return "file exists";
    case LIBSSH2_FX_NOT_A_DIRECTORY:
        return "not a directory";
    case LIBSSH2_FX_OP_UNSUPPORTED:
        return "operation not supported by the server";
    case LIBSSH2_FX_FAILURE:
        return "failure reported by the server";
    }
    return nullptr;
}

// Paths in messages: control characters (a newline in a name) shown escaped.
std::string shown(const std::string &p)
{
    std::string s;
    for (unsigned char c : p) {
        if (c < 0x20 || c == 0x7f) {
            char b[8];
            snprintf(b, sizeof b, "\\x%02x", c);
            s += b;
        } else {
            s += char(c);
        }
    }
    return s;
}

bool is_dir(const LIBSSH2_SFTP_ATTRIBUTES &a)
{
    return (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(a.permissions);
}

XferItem item_from(const LIBSSH2_SFTP_ATTRIBUTES &a)
{
    XferItem it;
    it.mode = (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ? uint32_t(a.permissions & 07777) : 0644;
    if (a.flags & LIBSSH2_SFTP_ATTR_SIZE)
        it.size = a.filesize;
    if (a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) {
        it.mtime = a.mtime;
        it.atime = a.atime;
    }
    if (is_dir(a))
        it.kind = XferItem::Kind::Dir;
    else if ((a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISLNK(a.permissions))
        it.kind = XferItem::Kind::Link;
    return it;
}

} // namespace

pssh_err make_transfer_spec(bool scp, bool put, const char *local, const char *remote,
                            const pssh_xfer_opts *o, TransferSpec &out, std::string *why)
{
    out = TransferSpec{};
    if (!local || !*local || !remote || !*remote) {
        *why = "an empty path";
        return PSSH_E_INVAL;
    }
    out.scp = scp;
    out.put = put;
    out.local = local;
    out.remote = remote;
    if (o) {
        if (o->timeout_ms < 0) {
            *why = "a negative timeout in the transfer options";
            return PSSH_E_INVAL;
        }
        out.recurse = o->recurse != 0;
        out.preserve = o->preserve != 0;
        out.copy_links = o->copy_links != 0;
        out.timeout_ms = o->timeout_ms;
        out.progress = o->progress;
        out.userdata = o->userdata;
    }
    return PSSH_OK;
}

Ref<Output> Transfer::create(Ref<Session> s, TransferSpec spec, Sink *sink, size_t tag, Ref<Pool> pool)
{
    auto *t = new Transfer(std::move(s), std::move(spec));
    Ref<Output> r = Ref<Output>::adopt(t);
    t->enlist(sink, tag, std::move(pool));
    return r;
}

Output::Limits Transfer::limits_of(const TransferSpec &spec)
{
    Limits l;
    l.run_timeout_ms = spec.timeout_ms;
    return l;
}

Transfer::Transfer(Ref<Session> s, TransferSpec spec) : Output(std::move(s), limits_of(spec)), spec_(std::move(spec))
{
}

Transfer::~Transfer()
{
    if (!finished())
        on_stop(); // released while running: the rest is closed in the background
}

std::string Transfer::prefix() const { return session_->settings().display + ": " + kind() + ": "; }

Leftovers Transfer::take_leftovers() noexcept
{
    Leftovers l;
    if (open_in_flight_) {
        l.open = phase_ == Phase::Init          ? Leftovers::Open::SftpInit
                 : phase_ == Phase::ScpSendOpen ? Leftovers::Open::ScpSend
                                                : Leftovers::Open::ScpRecv;
        if (cur_) {
            l.scp_path = phase_ == Phase::ScpSendOpen ? remote_tmp_ : cur_->remote;
            l.scp_mode = int(spec_.preserve ? cur_->mode & 0777 : 0644);
            l.scp_size = int64_t(cur_->size);
            l.scp_mtime = spec_.preserve ? long(cur_->mtime) : 0;
            l.scp_atime = spec_.preserve ? long(cur_->atime) : 0;
        }
        open_in_flight_ = false;
    }
    l.sftp = sftp_;
    l.handle = fh_;
    if (remote_tmp_made_)
        l.unlink = remote_tmp_;
    sftp_ = nullptr;
    fh_ = nullptr;
    remote_tmp_made_ = false;
    return l;
}

// Over early: the local side is cleaned at once (temporary file removed),
// the remote side in the background.
void Transfer::on_stop() noexcept
{
    if (local_fd_ >= 0) {
        ::close(local_fd_);
        local_fd_ = -1;
    }
    writer_.abandon();
    buf_.reset();
    if (t_start_ && !t_end_)
        t_end_ = now_ns();
    Leftovers l = take_leftovers();
    if (l.any() || !l.unlink.empty())
        XferCloser::start(*session_, this, std::move(l));
}

void Transfer::transfer_stats(uint64_t *done, uint64_t *total, double *ms) const noexcept
{
    *done = done_;
    *total = total_;
    *ms = !t_start_ ? -1 : ns_to_ms((t_end_ ? t_end_ : now_ns()) - t_start_);
}

void Transfer::progress()
{
    if (!spec_.progress || done_ == reported_)
        return;
    reported_ = done_;
    Loop::CallbackScope scope(session_->loop());
    spec_.progress(reinterpret_cast<pssh_output *>(static_cast<Output *>(this)), tag(), done_, total_,
                   spec_.userdata);
}

bool Transfer::budget_spent()
{
    if (++steps_ < kStepBudget)
        return false;
    session_->wake(this); // the other hosts get their turn first
    return true;
}

Channel::Wait Transfer::fail_msg(const std::string &msg)
{
    fail(code(), prefix() + msg);
    return Wait::None;
}

Channel::Wait Transfer::fail_local(const std::string &why)
{
    fail(PSSH_E_IO, prefix() + "local: " + shown(why));
    return Wait::None;
}

Channel::Wait Transfer::fail_sftp(long rc, const char *op, const std::string &path)
{
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && sftp_) {
        unsigned long fx = libssh2_sftp_last_error(sftp_);
        const char *cause = sftp_cause(fx);
        std::string c = cause ? cause : "SFTP status " + std::to_string(fx);
        return fail_msg(std::string(op) + " " + shown(path) + ": " + c);
    }
    if (is_transport_error(rc) || !session_->socket_alive())
        return fail_io(rc, (std::string(kind()) + " " + op + " " + shown(path)).c_str(), code());
    return fail_msg(std::string(op) + " " + shown(path) + ": " + libssh2_message(session_->raw()) +
                    " (libssh2 error " + std::to_string(rc) + ")");
}

// ---- setup: the SFTP session ----

Channel::Wait Transfer::step_setup()
{
    LIBSSH2_SESSION *raw = session_->raw();
    open_in_flight_ = true;
    sftp_ = libssh2_sftp_init(raw);
    if (!sftp_) {
        int e = libssh2_session_last_errno(raw);
        if (e == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (spurious(e))
            return Wait::Libssh2;
        open_in_flight_ = false;
        session_->release_open(this);
        if (is_transport_error(e) || !session_->socket_alive())
            return fail_io(e, "starting SFTP", code());
        return fail_msg("cannot start the SFTP subsystem: " + libssh2_message(raw) + " (libssh2 error " +
                        std::to_string(e) + ")");
    }
    open_in_flight_ = false;
    session_->release_open(this);
    buf_.reset(new char[kXferBuffer]);
    phase_ = Phase::Plan;
    t_start_ = now_ns();
    began();
    return Wait::None;
}

Channel::Wait Transfer::step_running()
{
    steps_ = 0;
    for (;;) {
        Phase was = phase_;
        Wait w = run_phase();
        if (finished() || state() != State::Running)
            return w;
        if (phase_ == was || w != Wait::None)
            return w;
    }
}

Channel::Wait Transfer::run_phase()
{
    switch (phase_) {
    case Phase::Init:
    case Phase::Plan:
        return plan();
    case Phase::RootStat:
    case Phase::ListOpen:
    case Phase::ListRead:
    case Phase::ListClose:
    case Phase::ListResolve:
        return list_step();
    case Phase::MkdirStat:
    case Phase::Mkdir:
    case Phase::MkdirCheck:
        return mkdir_step();
    case Phase::Next:
        return next_item();
    case Phase::TargetStat:
    case Phase::PutOpen:
    case Phase::ScpProbeClose:
    case Phase::PutPump:
    case Phase::PutDiagnose:
    case Phase::PutSetstat:
    case Phase::PutClose:
        return put_step();
    case Phase::ScpSendOpen:
    case Phase::ScpSendPump:
    case Phase::ScpSendEnd:
    case Phase::ScpSendClose:
        return scp_send_step();
    case Phase::Rename:
    case Phase::RenamePlain:
    case Phase::RenameUnlink:
        return rename_step();
    case Phase::GetOpen:
    case Phase::GetPump:
    case Phase::GetClose:
        return get_step();
    case Phase::ScpRecvOpen:
    case Phase::ScpRecvPump:
    case Phase::ScpRecvClose:
        return scp_recv_step();
    case Phase::DirMake:
    case Phase::DirCheck:
        return dir_step();
    case Phase::DirAttrs:
        return dir_attrs_step();
    case Phase::LinkUnlink:
    case Phase::LinkMake:
    case Phase::LinkVerify:
        return link_step();
    case Phase::Shutdown:
        SET_STATE(State::Closing);
        return Wait::None;
    }
    return Wait::None;
}

// ---- planning ----

Channel::Wait Transfer::plan()
{
    if (spec_.put) {
        std::string remote = spec_.remote;
        if (remote.back() == '/')
            remote = path_join(remote, path_base(spec_.local));
        std::string why = list_local(spec_.local, remote, spec_.recurse, !spec_.copy_links, items_, &total_);
        if (!why.empty())
            return items_.empty() && why.find(" is a directory") != std::string::npos ? fail_msg(shown(why))
                                                                                      : fail_local(why);
        mk_target_ = path_dir(remote);
        phase_ = mk_target_.empty() ? Phase::Next : Phase::MkdirStat;
        return Wait::None;
    }
    phase_ = Phase::RootStat;
    return Wait::None;
}

// Get: the remote source, then (recurse) its tree, breadth first; links met
// on the way are resolved once their directory is closed.
Channel::Wait Transfer::list_step()
{
    switch (phase_) {
    case Phase::RootStat: {
        LIBSSH2_SFTP_ATTRIBUTES a;
        const std::string &r = spec_.remote;
        int rc = libssh2_sftp_stat_ex(sftp_, r.data(), unsigned(r.size()), LIBSSH2_SFTP_STAT, &a);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc)
            return fail_sftp(rc, "stat", r);
        XferItem it = item_from(a);
        it.remote = r;
        it.local = spec_.local;
        if (it.local.back() == '/')
            it.local = path_join(it.local, path_base(r));
        if (it.kind == XferItem::Kind::Dir && !spec_.recurse)
            return fail_msg(shown(r) + " is a directory (copy a tree with recurse)");
        if (it.kind == XferItem::Kind::Dir)
            dirs_to_list_.push_back(items_.size());
        else
            total_ += it.size;
        items_.push_back(std::move(it));
        if (std::string why = local_mkdir_p(path_dir(items_.back().local), 0755); !why.empty())
            return fail_local(why);
        phase_ = dirs_to_list_.empty() ? Phase::Next : Phase::ListOpen;
        return Wait::None;
    }
    case Phase::ListOpen: {
        if (dirs_to_list_.empty()) {
            phase_ = links_.empty() ? Phase::Next : Phase::ListResolve;
            return Wait::None;
        }
        const std::string &d = items_[dirs_to_list_.front()].remote;
        fh_ = libssh2_sftp_open_ex(sftp_, d.data(), unsigned(d.size()), 0, 0, LIBSSH2_SFTP_OPENDIR);
        if (!fh_) {
            int e = libssh2_session_last_errno(session_->raw());
            if (e == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            return fail_sftp(e, "list", d);
        }
        phase_ = Phase::ListRead;
        return Wait::None;
    }
    case Phase::ListRead: {
        size_t di = dirs_to_list_.front();
        for (;;) {
            char name[1024];
            LIBSSH2_SFTP_ATTRIBUTES a;
            int n = libssh2_sftp_readdir_ex(fh_, name, sizeof name, nullptr, 0, &a);
            if (n == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (n < 0)
                return fail_sftp(n, "list", items_[di].remote);
            if (n == 0)
                break;
            std::string nm(name, size_t(n));
            if (nm == "." || nm == "..")
                continue;
            XferItem it = item_from(a);
            it.remote = path_join(items_[di].remote, nm);
            it.local = path_join(items_[di].local, nm);
            if (it.kind == XferItem::Kind::Link) {
                links_.push_back(std::move(it));
                continue;
            }
            if (it.kind == XferItem::Kind::Dir)
                dirs_to_list_.push_back(items_.size());
            else
                total_ += it.size;
            items_.push_back(std::move(it));
        }
        phase_ = Phase::ListClose;
        return Wait::None;
    }
    case Phase::ListClose: {
        int rc = libssh2_sftp_close_handle(fh_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        fh_ = nullptr;
        dirs_to_list_.pop_front();
        phase_ = Phase::ListOpen;
        return Wait::None;
    }
    case Phase::ListResolve: {
        while (link_idx_ < links_.size()) {
            XferItem &l = links_[link_idx_];
            if (spec_.copy_links) {
                char target[4096];
                int n = libssh2_sftp_symlink_ex(sftp_, l.remote.data(), unsigned(l.remote.size()), target,
                                                sizeof target, LIBSSH2_SFTP_READLINK);
                if (n == LIBSSH2_ERROR_EAGAIN)
                    return Wait::Libssh2;
                if (n < 0)
                    return fail_sftp(n, "readlink", l.remote);
                l.target.assign(target, size_t(n));
                items_.push_back(l);
            } else {
                LIBSSH2_SFTP_ATTRIBUTES a;
                int rc = libssh2_sftp_stat_ex(sftp_, l.remote.data(), unsigned(l.remote.size()),
                                              LIBSSH2_SFTP_STAT, &a);
                if (rc == LIBSSH2_ERROR_EAGAIN)
                    return Wait::Libssh2;
                if (rc)
                    return fail_sftp(rc, "stat (following the link)", l.remote);
                XferItem it = item_from(a);
                it.remote = l.remote;
                it.local = l.local;
                if (it.kind == XferItem::Kind::Dir) // a link to a directory: listed like one
                    dirs_to_list_.push_back(items_.size());
                else
                    total_ += it.size;
                items_.push_back(std::move(it));
            }
            link_idx_++;
        }
        if (!dirs_to_list_.empty()) {
            phase_ = Phase::ListOpen;
            return Wait::None;
        }
        phase_ = Phase::Next;
        return Wait::None;
    }
    default:
        return Wait::None;
    }
}

// Put: mkdir -p of the target's directory (mode 0755, as parallel-ssh).
Channel::Wait Transfer::mkdir_step()
{
    LIBSSH2_SFTP_ATTRIBUTES a;
    const std::string &t = mk_target_;
    switch (phase_) {
    case Phase::MkdirStat: {
        int rc = libssh2_sftp_stat_ex(sftp_, t.data(), unsigned(t.size()), LIBSSH2_SFTP_STAT, &a);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc == 0) {
            if (!is_dir(a))
                return fail_msg(shown(t) + " exists and is not a directory");
            phase_ = Phase::Next;
            return Wait::None;
        }
        if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || libssh2_sftp_last_error(sftp_) != LIBSSH2_FX_NO_SUCH_FILE)
            return fail_sftp(rc, "stat", t);
        mk_parts_.clear();
        for (std::string p = t; !p.empty() && p != "/" && p != "."; p = path_dir(p))
            mk_parts_.insert(mk_parts_.begin(), p);
        mk_idx_ = 0;
        phase_ = Phase::Mkdir;
        return Wait::None;
    }
    case Phase::Mkdir:
        while (mk_idx_ < mk_parts_.size()) {
            const std::string &p = mk_parts_[mk_idx_];
            int rc = libssh2_sftp_mkdir_ex(sftp_, p.data(), unsigned(p.size()), 0755);
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL) { // exists, or cannot: the check below tells
                const char *c = sftp_cause(libssh2_sftp_last_error(sftp_));
                mk_err_ = "mkdir " + shown(p) + ": " + (c ? c : "failed");
            } else if (rc) {
                return fail_sftp(rc, "mkdir", p);
            }
            mk_idx_++;
        }
        phase_ = Phase::MkdirCheck;
        return Wait::None;
    case Phase::MkdirCheck: {
        int rc = libssh2_sftp_stat_ex(sftp_, t.data(), unsigned(t.size()), LIBSSH2_SFTP_STAT, &a);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc || !is_dir(a))
            return fail_msg(mk_err_.empty() ? "cannot create the directory " + shown(t) : mk_err_);
        phase_ = Phase::Next;
        return Wait::None;
    }
    default:
        return Wait::None;
    }
}

Channel::Wait Transfer::next_item()
{
    if (next_ >= items_.size()) {
        if (spec_.preserve) {
            attrs_left_ = items_.size();
            phase_ = Phase::DirAttrs;
            return Wait::None;
        }
        return items_over();
    }
    cur_ = &items_[next_++];
    switch (cur_->kind) {
    case XferItem::Kind::Dir:
        phase_ = Phase::DirMake;
        break;
    case XferItem::Kind::Link:
        phase_ = spec_.put ? Phase::LinkUnlink : Phase::LinkMake;
        break;
    case XferItem::Kind::File:
        boff_ = bend_ = 0;
        local_eof_ = false;
        if (spec_.put) {
            phase_ = Phase::TargetStat;
        } else {
            if (std::string why = writer_.open(cur_->local, spec_.preserve); !why.empty())
                return fail_local(why);
            phase_ = spec_.scp ? Phase::ScpRecvOpen : Phase::GetOpen;
        }
        break;
    }
    return Wait::None;
}

Channel::Wait Transfer::items_over()
{
    t_end_ = now_ns();
    progress();
    if (finished())
        return Wait::None;
    phase_ = Phase::Shutdown;
    return Wait::None;
}

Channel::Wait Transfer::item_done()
{
    progress();
    if (finished())
        return Wait::None;
    phase_ = Phase::Next;
    return Wait::None;
}

// ---- put a file ----

Channel::Wait Transfer::put_step()
{
    const std::string &dst = cur_->remote;
    switch (phase_) {
    case Phase::TargetStat: {
        LIBSSH2_SFTP_ATTRIBUTES a;
        int rc = libssh2_sftp_stat_ex(sftp_, dst.data(), unsigned(dst.size()), LIBSSH2_SFTP_STAT, &a);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc == 0 && is_dir(a))
            return fail_msg(shown(dst) + " is a directory");
        if (rc && (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || libssh2_sftp_last_error(sftp_) != LIBSSH2_FX_NO_SUCH_FILE))
            return fail_sftp(rc, "stat", dst);
        local_fd_ = ::open(cur_->local.c_str(), O_RDONLY | O_CLOEXEC);
        if (local_fd_ < 0)
            return fail_local("cannot open " + cur_->local + ": " + strerror(errno));
        remote_tmp_ = temp_name_near(dst);
        phase_ = Phase::PutOpen;
        return Wait::None;
    }
    case Phase::PutOpen: {
        long mode = spec_.preserve ? long(cur_->mode & 0777) : 0644;
        fh_ = libssh2_sftp_open_ex(sftp_, remote_tmp_.data(), unsigned(remote_tmp_.size()),
                                   LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, mode,
                                   LIBSSH2_SFTP_OPENFILE);
        if (!fh_) {
            int e = libssh2_session_last_errno(session_->raw());
            if (e == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            return fail_sftp(e, "create", remote_tmp_);
        }
        remote_tmp_made_ = true;
        // SCP writes over this temporary: made through SFTP first, so a
        // refusal comes with its cause (libssh2's scp start loses it).
        phase_ = spec_.scp ? Phase::ScpProbeClose : Phase::PutPump;
        return Wait::None;
    }
    case Phase::ScpProbeClose: {
        int rc = libssh2_sftp_close_handle(fh_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        fh_ = nullptr;
        if (rc)
            return fail_sftp(rc, "create", remote_tmp_);
        phase_ = Phase::ScpSendOpen;
        return Wait::None;
    }
    case Phase::PutPump:
        for (;;) {
            // Keep the buffer full behind what libssh2 has not had acked:
            // it pipelines its writes over all it is handed.
            if (!local_eof_ && bend_ < kXferBuffer) {
                if (boff_ > kXferBuffer / 2) {
                    memmove(buf_.get(), buf_.get() + boff_, bend_ - boff_);
                    bend_ -= boff_;
                    boff_ = 0;
                }
                ssize_t n = ::read(local_fd_, buf_.get() + bend_, kXferBuffer - bend_);
                if (n < 0 && errno != EINTR)
                    return fail_local("cannot read " + cur_->local + ": " + strerror(errno));
                if (n == 0)
                    local_eof_ = true;
                if (n > 0)
                    bend_ += size_t(n);
            }
            if (boff_ == bend_ && local_eof_) {
                ::close(local_fd_);
                local_fd_ = -1;
                phase_ = Phase::PutSetstat;
                return Wait::None;
            }
            if (boff_ == bend_)
                continue;
            ssize_t n = libssh2_sftp_write(fh_, buf_.get() + boff_, bend_ - boff_);
            if (n == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (n < 0) {
                if (n == LIBSSH2_ERROR_SFTP_PROTOCOL && libssh2_sftp_last_error(sftp_) == LIBSSH2_FX_FAILURE) {
                    phase_ = Phase::PutDiagnose; // OpenSSH says "failure" for a full disk
                    return Wait::None;
                }
                return fail_sftp(n, "write", cur_->remote);
            }
            boff_ += size_t(n);
            done_ += uint64_t(n);
            if (boff_ == bend_)
                boff_ = bend_ = 0;
            progress();
            if (finished())
                return Wait::None;
            if (budget_spent())
                return Wait::None;
        }
    case Phase::PutDiagnose: {
        LIBSSH2_SFTP_STATVFS v;
        int rc = libssh2_sftp_fstatvfs(fh_, &v);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc == 0 && (v.f_bavail == 0 || v.f_favail == 0))
            return fail_msg("write " + shown(dst) + ": no space left on the remote filesystem");
        return fail_msg("write " + shown(dst) + ": failure reported by the server");
    }
    case Phase::PutSetstat: {
        if (spec_.preserve) {
            LIBSSH2_SFTP_ATTRIBUTES a = {};
            a.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS | LIBSSH2_SFTP_ATTR_ACMODTIME;
            a.permissions = cur_->mode & 07777;
            a.mtime = (unsigned long)cur_->mtime;
            a.atime = (unsigned long)cur_->atime;
            int rc = libssh2_sftp_fsetstat(fh_, &a);
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (rc)
                return fail_sftp(rc, "setstat", dst);
        }
        phase_ = Phase::PutClose;
        return Wait::None;
    }
    case Phase::PutClose: {
        int rc = libssh2_sftp_close_handle(fh_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        fh_ = nullptr;
        if (rc) // the server may report a write error only now
            return fail_sftp(rc, "close", dst);
        posix_rename_.begin(remote_tmp_, dst);
        rename_tried_plain_ = false;
        phase_ = Phase::Rename;
        return Wait::None;
    }
    default:
        return Wait::None;
    }
}

// The temporary file replaces the target in one step (posix-rename); a
// server without it gets SSH_FXP_RENAME, which refuses an existing target:
// that target is removed first (it is never truncated, only briefly absent).
Channel::Wait Transfer::rename_step()
{
    const std::string &dst = cur_->remote;
    switch (phase_) {
    case Phase::Rename: {
        uint32_t st = 0;
        int rc = posix_rename_.step(sftp_, &st);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc)
            return fail_sftp(rc, "rename into place", dst);
        if (st == LIBSSH2_FX_OP_UNSUPPORTED) {
            phase_ = Phase::RenamePlain;
            return Wait::None;
        }
        if (st != LIBSSH2_FX_OK) {
            const char *c = sftp_cause(st);
            return fail_msg("rename into place " + shown(dst) + ": " + (c ? c : "SFTP status " + std::to_string(st)));
        }
        remote_tmp_made_ = false;
        return item_done();
    }
    case Phase::RenamePlain: {
        int rc = libssh2_sftp_rename_ex(sftp_, remote_tmp_.data(), unsigned(remote_tmp_.size()), dst.data(),
                                        unsigned(dst.size()),
                                        LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
                                            LIBSSH2_SFTP_RENAME_NATIVE);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc && !rename_tried_plain_ && rc == LIBSSH2_ERROR_SFTP_PROTOCOL) {
            rename_tried_plain_ = true;
            phase_ = Phase::RenameUnlink;
            return Wait::None;
        }
        if (rc)
            return fail_sftp(rc, "rename into place", dst);
        remote_tmp_made_ = false;
        return item_done();
    }
    case Phase::RenameUnlink: {
        int rc = libssh2_sftp_unlink_ex(sftp_, dst.data(), unsigned(dst.size()));
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        phase_ = Phase::RenamePlain;
        return Wait::None;
    }
    default:
        return Wait::None;
    }
}

// ---- put a file over SCP (to the temporary name; renamed over SFTP) ----

Channel::Wait Transfer::scp_send_step()
{
    LIBSSH2_SESSION *raw = session_->raw();
    switch (phase_) {
    case Phase::ScpSendOpen: {
        if (!open_in_flight_) {
            if (!session_->acquire_open(this))
                return Wait::None; // the session wakes us when the slot is free
            open_in_flight_ = true;
        }
        int mode = int(spec_.preserve ? cur_->mode & 0777 : 0644);
        ch_ = libssh2_scp_send64(raw, remote_tmp_.c_str(), mode, libssh2_int64_t(cur_->size),
                                 spec_.preserve ? time_t(cur_->mtime) : 0, spec_.preserve ? time_t(cur_->atime) : 0);
        if (!ch_) {
            int e = libssh2_session_last_errno(raw);
            if (e == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            open_in_flight_ = false;
            session_->release_open(this);
            if (!session_->socket_alive())
                return fail_io(e, "starting scp", code());
            return fail_msg("send " + shown(cur_->remote) + ": " + libssh2_message(raw));
        }
        open_in_flight_ = false;
        session_->release_open(this);
        remote_tmp_made_ = true;
        file_left_ = cur_->size;
        scp_reply_.clear();
        scp_eof_sent_ = false;
        phase_ = Phase::ScpSendPump;
        return Wait::None;
    }
    case Phase::ScpSendPump:
        for (;;) {
            if (!local_eof_ && boff_ == bend_) {
                boff_ = bend_ = 0;
                ssize_t n = ::read(local_fd_, buf_.get(), size_t(std::min<uint64_t>(kXferBuffer, file_left_)));
                if (n < 0 && errno != EINTR)
                    return fail_local("cannot read " + cur_->local + ": " + strerror(errno));
                if (n == 0 || uint64_t(n) == file_left_)
                    local_eof_ = true;
                if (n > 0) {
                    bend_ = size_t(n);
                    file_left_ -= uint64_t(n);
                }
                if (n == 0 && file_left_)
                    return fail_local(cur_->local + " shrank while it was being sent");
            }
            if (boff_ == bend_ && local_eof_) {
                ::close(local_fd_);
                local_fd_ = -1;
                buf_[0] = 0; // the end of the file in the SCP protocol
                boff_ = 0;
                bend_ = 1;
                phase_ = Phase::ScpSendEnd;
                return Wait::None;
            }
            ssize_t n = libssh2_channel_write(ch_, buf_.get() + boff_, bend_ - boff_);
            if (n == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (n < 0)
                return fail_io(n, "scp: sending the file", code());
            boff_ += size_t(n);
            done_ += uint64_t(n);
            progress();
            if (finished())
                return Wait::None;
            if (budget_spent())
                return Wait::None;
        }
    case Phase::ScpSendEnd: {
        // The end-of-file byte, EOF, then what the remote scp says: "\0" when
        // the file is written, "\1message" when not (a full disk...).
        while (boff_ < bend_) {
            ssize_t n = libssh2_channel_write(ch_, buf_.get() + boff_, bend_ - boff_);
            if (n == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (n < 0)
                return fail_io(n, "scp: sending the file", code());
            boff_ += size_t(n);
        }
        if (!scp_eof_sent_) { // once: a second EOF is a protocol error
            int rc = libssh2_channel_send_eof(ch_);
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            if (rc < 0)
                return fail_io(rc, "scp: sending EOF", code());
            scp_eof_sent_ = true;
        }
        for (int s = 0; s < 2; s++) {
            for (;;) {
                char b[512];
                ssize_t n = libssh2_channel_read_ex(ch_, s, b, sizeof b);
                if (n == LIBSSH2_ERROR_EAGAIN)
                    return Wait::Libssh2;
                if (n < 0)
                    return fail_io(n, "scp: reading the reply", code());
                if (n == 0) {
                    if (!libssh2_channel_eof(ch_))
                        return Wait::Libssh2;
                    break;
                }
                if (scp_reply_.size() < kMaxReply)
                    scp_reply_.append(b, size_t(n));
            }
        }
        phase_ = Phase::ScpSendClose;
        return Wait::None;
    }
    case Phase::ScpSendClose: {
        int rc = libssh2_channel_close(ch_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        // Without the close, the exit status is unknown, not -1: the remote
        // scp has not said whether the file is whole.
        if (rc < 0)
            return fail_io(rc, "scp: closing the channel", code());
        int status = libssh2_channel_get_exit_status(ch_);
        if (libssh2_channel_free(ch_) == LIBSSH2_ERROR_EAGAIN)
            session_->adopt_channel(ch_);
        ch_ = nullptr;
        std::string reply = scp_reply_;
        while (!reply.empty() && (reply[0] == 0))
            reply.erase(0, 1);
        if (!reply.empty() && (reply[0] == 1 || reply[0] == 2))
            reply.erase(0, 1);
        while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r'))
            reply.pop_back();
        if (status != 0 || !reply.empty())
            return fail_msg("send " + shown(cur_->remote) + ": " +
                            (reply.empty() ? "the remote scp exited with " + std::to_string(status) : shown(reply)));
        posix_rename_.begin(remote_tmp_, cur_->remote);
        rename_tried_plain_ = false;
        phase_ = Phase::Rename;
        return Wait::None;
    }
    default:
        return Wait::None;
    }
}

// ---- get a file ----

Channel::Wait Transfer::get_step()
{
    const std::string &src = cur_->remote;
    switch (phase_) {
    case Phase::GetOpen:
        fh_ = libssh2_sftp_open_ex(sftp_, src.data(), unsigned(src.size()), LIBSSH2_FXF_READ, 0,
                                   LIBSSH2_SFTP_OPENFILE);
        if (!fh_) {
            int e = libssh2_session_last_errno(session_->raw());
            if (e == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            return fail_sftp(e, "open", src);
        }
        phase_ = Phase::GetPump;
        return Wait::None;
    case Phase::GetPump:
        for (;;) {
            // The whole free buffer is offered: libssh2 reads ahead in
            // proportion to it. Half full goes to disk.
            ssize_t n = libssh2_sftp_read(fh_, buf_.get() + bend_, kXferBuffer - bend_);
            if (n == LIBSSH2_ERROR_EAGAIN) {
                if (bend_) {
                    if (std::string why = writer_.write(buf_.get(), bend_); !why.empty())
                        return fail_local(why);
                    bend_ = 0;
                }
                return Wait::Libssh2;
            }
            if (n < 0)
                return fail_sftp(n, "read", src);
            bend_ += size_t(n);
            done_ += uint64_t(n);
            if (n == 0 || bend_ >= kXferBuffer / 2) {
                if (std::string why = writer_.write(buf_.get(), bend_); !why.empty())
                    return fail_local(why);
                bend_ = 0;
            }
            if (n == 0) {
                phase_ = Phase::GetClose;
                return Wait::None;
            }
            progress();
            if (finished())
                return Wait::None;
            if (budget_spent())
                return Wait::None;
        }
    case Phase::GetClose: {
        int rc = libssh2_sftp_close_handle(fh_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        fh_ = nullptr;
        if (std::string why = writer_.commit(spec_.preserve, cur_->mode, cur_->mtime, cur_->atime); !why.empty())
            return fail_local(why);
        return item_done();
    }
    default:
        return Wait::None;
    }
}

Channel::Wait Transfer::scp_recv_step()
{
    LIBSSH2_SESSION *raw = session_->raw();
    switch (phase_) {
    case Phase::ScpRecvOpen: {
        if (!open_in_flight_) {
            if (!session_->acquire_open(this))
                return Wait::None;
            open_in_flight_ = true;
        }
        libssh2_struct_stat st;
        ch_ = libssh2_scp_recv2(raw, cur_->remote.c_str(), &st);
        if (!ch_) {
            int e = libssh2_session_last_errno(raw);
            if (e == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            open_in_flight_ = false;
            session_->release_open(this);
            if (!session_->socket_alive())
                return fail_io(e, "starting scp", code());
            return fail_msg("receive " + shown(cur_->remote) + ": " + libssh2_message(raw));
        }
        open_in_flight_ = false;
        session_->release_open(this);
        total_ = total_ - cur_->size + uint64_t(st.st_size); // the size scp announced
        cur_->size = uint64_t(st.st_size);
        cur_->mode = uint32_t(st.st_mode & 07777);
        cur_->mtime = uint64_t(st.st_mtime);
        cur_->atime = uint64_t(st.st_atime);
        file_left_ = cur_->size;
        scp_eof_sent_ = false;
        phase_ = Phase::ScpRecvPump;
        return Wait::None;
    }
    case Phase::ScpRecvPump:
        while (file_left_) {
            // Never past the file: the remote's status byte follows it.
            size_t want = size_t(std::min<uint64_t>(kXferBuffer - bend_, file_left_));
            ssize_t n = libssh2_channel_read(ch_, buf_.get() + bend_, want);
            if (n == LIBSSH2_ERROR_EAGAIN || (n == 0 && !libssh2_channel_eof(ch_))) {
                if (bend_) {
                    if (std::string why = writer_.write(buf_.get(), bend_); !why.empty())
                        return fail_local(why);
                    bend_ = 0;
                }
                return Wait::Libssh2;
            }
            if (n < 0)
                return fail_io(n, "scp: receiving the file", code());
            if (n == 0)
                return fail_msg("receive " + shown(cur_->remote) + ": the file ended early");
            bend_ += size_t(n);
            done_ += uint64_t(n);
            file_left_ -= uint64_t(n);
            if (bend_ >= kXferBuffer / 2 || !file_left_) {
                if (std::string why = writer_.write(buf_.get(), bend_); !why.empty())
                    return fail_local(why);
                bend_ = 0;
            }
            progress();
            if (finished())
                return Wait::None;
            if (file_left_ && budget_spent())
                return Wait::None;
        }
        phase_ = Phase::ScpRecvClose;
        return Wait::None;
    case Phase::ScpRecvClose: {
        // Every byte the remote scp announced is here: a failure to close (a
        // cut now) changes nothing about the file, so it is not one.
        if (!scp_eof_sent_) {
            int rc = libssh2_channel_send_eof(ch_);
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return Wait::Libssh2;
            scp_eof_sent_ = true;
        }
        int rc = libssh2_channel_close(ch_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (libssh2_channel_free(ch_) == LIBSSH2_ERROR_EAGAIN)
            session_->adopt_channel(ch_);
        ch_ = nullptr;
        if (std::string why = writer_.commit(spec_.preserve, cur_->mode, cur_->mtime, cur_->atime); !why.empty())
            return fail_local(why);
        return item_done();
    }
    default:
        return Wait::None;
    }
}

// ---- directories and links ----

// A directory is made writable by its owner while it is filled; with
// preserve, its own mode and times are set once the tree is over.
Channel::Wait Transfer::dir_step()
{
    uint32_t mode = spec_.preserve ? (cur_->mode & 07777) | 0700 : 0755;
    if (!spec_.put) {
        if (std::string why = local_mkdir_p(cur_->local, mode_t(mode)); !why.empty())
            return fail_local(why);
        return item_done();
    }
    const std::string &d = cur_->remote;
    if (phase_ == Phase::DirMake) {
        int rc = libssh2_sftp_mkdir_ex(sftp_, d.data(), unsigned(d.size()), long(mode));
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc == 0)
            return item_done();
        if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
            return fail_sftp(rc, "mkdir", d);
        const char *c = sftp_cause(libssh2_sftp_last_error(sftp_));
        mk_err_ = "mkdir " + shown(d) + ": " + (c ? c : "failed");
        phase_ = Phase::DirCheck; // it may exist already
        return Wait::None;
    }
    LIBSSH2_SFTP_ATTRIBUTES a;
    int rc = libssh2_sftp_stat_ex(sftp_, d.data(), unsigned(d.size()), LIBSSH2_SFTP_STAT, &a);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return Wait::Libssh2;
    if (rc || !is_dir(a))
        return fail_msg(mk_err_);
    return item_done();
}

// preserve: every directory gets its source's mode and times, deepest
// first (items_ lists a directory before its entries), after its entries
// were written (which changed its time).
Channel::Wait Transfer::dir_attrs_step()
{
    for (; attrs_left_ > 0; attrs_left_--) {
        const XferItem &d = items_[attrs_left_ - 1];
        if (d.kind != XferItem::Kind::Dir)
            continue;
        if (!spec_.put) {
            timespec ts[2] = {{time_t(d.atime), 0}, {time_t(d.mtime), 0}};
            if (chmod(d.local.c_str(), mode_t(d.mode & 07777)) != 0 ||
                utimensat(AT_FDCWD, d.local.c_str(), ts, 0) != 0)
                return fail_local("cannot set the mode and times of " + d.local + ": " + strerror(errno));
            continue;
        }
        LIBSSH2_SFTP_ATTRIBUTES a = {};
        a.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS | LIBSSH2_SFTP_ATTR_ACMODTIME;
        a.permissions = d.mode & 07777;
        a.mtime = (unsigned long)d.mtime;
        a.atime = (unsigned long)d.atime;
        int rc = libssh2_sftp_stat_ex(sftp_, d.remote.data(), unsigned(d.remote.size()), LIBSSH2_SFTP_SETSTAT, &a);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc)
            return fail_sftp(rc, "setstat", d.remote);
    }
    return items_over();
}

Channel::Wait Transfer::link_step()
{
    if (!spec_.put) {
        ::unlink(cur_->local.c_str());
        if (symlink(cur_->target.c_str(), cur_->local.c_str()) != 0)
            return fail_local("cannot make the link " + cur_->local + ": " + strerror(errno));
        return item_done();
    }
    const std::string &l = cur_->remote;
    if (phase_ == Phase::LinkUnlink) {
        int rc = libssh2_sftp_unlink_ex(sftp_, l.data(), unsigned(l.size()));
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        phase_ = Phase::LinkMake;
        return Wait::None;
    }
    // OpenSSH's server takes the target first, then the link's path (the
    // reverse of the draft; libssh2 passes them in this order).
    if (phase_ == Phase::LinkMake) {
        int rc = libssh2_sftp_symlink_ex(sftp_, cur_->target.data(), unsigned(cur_->target.size()),
                                         const_cast<char *>(l.data()), unsigned(l.size()), LIBSSH2_SFTP_SYMLINK);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        if (rc == 0)
            return item_done();
        if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
            return fail_sftp(rc, "symlink", l);
        // Debian's libssh2 1.10 reported a failure for links the server had
        // made (strace showed symlink() = 0 in sftp-server): the link is
        // read back, and only a wrong or missing one is an error.
        const char *c = sftp_cause(libssh2_sftp_last_error(sftp_));
        link_err_ = "symlink " + shown(l) + ": " + (c ? c : "failed");
        phase_ = Phase::LinkVerify;
        return Wait::None;
    }
    char target[4096];
    int n = libssh2_sftp_symlink_ex(sftp_, l.data(), unsigned(l.size()), target, sizeof target,
                                    LIBSSH2_SFTP_READLINK);
    if (n == LIBSSH2_ERROR_EAGAIN)
        return Wait::Libssh2;
    if (n < 0 || std::string(target, size_t(n)) != cur_->target)
        return fail_msg(link_err_);
    return item_done();
}

// ---- closing ----

Channel::Wait Transfer::step_closing()
{
    if (sftp_) {
        int rc = libssh2_sftp_shutdown(sftp_);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return Wait::Libssh2;
        sftp_ = nullptr;
    }
    buf_.reset();
    has_exit_ = true;
    exit_status_ = 0;
    return complete();
}

} // namespace pssh
