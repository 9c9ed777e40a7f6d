// Running code with a user's privileges, as a root PAM module must when it
// reads ~/.config/tpmauthn/credentials (so a symlink to a root-only file reads
// as EACCES, CVE-2019-12209), and coming back. Both directions are checked.
#pragma once

#include <pwd.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "config/config_error.h"

namespace tpmauthn::config {

// The passwd entry of a user, copied out of getpwnam_r's buffer.
struct UserEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;  // pw_dir: the only source of the home directory
};

ConfigResult<UserEntry> LookUpUser(const std::string& name);

// ~/.config/tpmauthn/credentials from the passwd entry. HOME and
// XDG_CONFIG_HOME are deliberately ignored: the environment belongs to the
// caller of sudo, not to the user being authenticated.
std::string UserCredentialsPath(const UserEntry& user);

// Switches effective uid, gid and supplementary groups to `user`, runs `body`,
// and switches back, checking each step with geteuid()/getegid(). If the
// process is not root and already runs as `user`, `body` runs directly; any
// other non-root caller gets an error. A failed restore is reported as an
// error; the caller must fail closed.
ConfigResult<void> WithUserPrivileges(const UserEntry& user, const std::function<void()>& body);

}  // namespace tpmauthn::config
