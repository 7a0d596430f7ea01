// From a host's ssh_config settings to libpssh's: which Config fields the
// files set (a value set through the API wins over them, so the caller
// applies the API's config after this one), and where to connect (HostName;
// the host string stays the host's name in outputs, as with ssh).
#pragma once
#include "../net/hostspec.hpp"
#include "../ssh/config.hpp"
#include "ssh_config.hpp"

#include <functional>
#include <string>

namespace pssh {

// key: say it once per key (the keyword); text: the warning.
using SshWarn = std::function<void(const std::string &key, const std::string &text)>;

// Resolves `files` for the host and maps the result: *from_files gets the
// fields the files set, *connect_host where to connect. `api` is the
// merged API config: its user and port count as given (like ssh -l and
// -p), and its key settings replace the files' IdentityFile. PSSH_OK or
// the error class with *why.
pssh_err ssh_config_settings(SshConfigCache &cache, const std::vector<std::string> &files, const SshQuery &q,
                             const Config &api, Config &from_files, std::string &connect_host, const SshWarn &warn,
                             std::string *why);

class Loop;

// For build_settings: the files `api` names ("~/" is the home directory),
// read through the loop's cache for the host `spec`, warnings to the loop's
// log once per keyword.
pssh_err ssh_config_for(Loop &loop, const HostSpec &spec, const Config &api, Config &from_files,
                        std::string &connect_host, std::string *why);

} // namespace pssh
