// Effective-uid switching for reading per-user files.
#include "config/privileges.h"

#include <grp.h>
#include <unistd.h>

#include <cerrno>

#include "config/safe_file.h"

namespace tpmauthn::config {

ConfigResult<UserEntry> LookUpUser(const std::string& name) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd entry {};
  struct passwd* result = nullptr;
  int rc;
  while ((rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &result)) ==
             ERANGE &&
         buffer.size() < (1u << 20)) {
    buffer.resize(buffer.size() * 2);
  }
  if (rc != 0) return ConfigFail("cannot look up user " + name + ": " + ErrnoMessage(rc));
  if (!result) return ConfigFail("no such user: " + name);
  return UserEntry{entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir ? entry.pw_dir : ""};
}

std::string UserCredentialsPath(const UserEntry& user) {
  return user.home + "/.config/tpmauthn/credentials";
}

ConfigResult<void> WithUserPrivileges(const UserEntry& user, const std::function<void()>& body) {
  const uid_t saved_uid = ::geteuid();
  const gid_t saved_gid = ::getegid();
  if (saved_uid != 0) {
    if (saved_uid != user.uid) {
      return ConfigFail("cannot read " + user.name + "'s files as uid " +
                        std::to_string(saved_uid));
    }
    body();
    return {};
  }
  int count = ::getgroups(0, nullptr);
  if (count < 0) return ConfigFail("getgroups failed: " + ErrnoMessage(errno));
  std::vector<gid_t> saved_groups(static_cast<size_t>(count));
  if (count > 0 && ::getgroups(count, saved_groups.data()) < 0) {
    return ConfigFail("getgroups failed: " + ErrnoMessage(errno));
  }
  int n = 64;
  std::vector<gid_t> user_groups(static_cast<size_t>(n));
  if (::getgrouplist(user.name.c_str(), user.gid, user_groups.data(), &n) < 0) {
    user_groups.resize(static_cast<size_t>(n));
    if (::getgrouplist(user.name.c_str(), user.gid, user_groups.data(), &n) < 0) {
      return ConfigFail("getgrouplist failed for " + user.name);
    }
  }
  user_groups.resize(static_cast<size_t>(n));

  auto restore = [&]() -> ConfigResult<void> {
    if (::seteuid(saved_uid) != 0 || ::setegid(saved_gid) != 0 ||
        ::setgroups(saved_groups.size(), saved_groups.data()) != 0 || ::geteuid() != saved_uid ||
        ::getegid() != saved_gid) {
      return ConfigFail("could not restore privileges after reading " + user.name + "'s files");
    }
    return {};
  };
  if (::setgroups(user_groups.size(), user_groups.data()) != 0 || ::setegid(user.gid) != 0 ||
      ::seteuid(user.uid) != 0 || ::geteuid() != user.uid || ::getegid() != user.gid) {
    int err = errno;
    if (auto ok = restore(); !ok) return ok;
    return ConfigFail("could not switch to " + user.name + "'s privileges: " + ErrnoMessage(err));
  }
  body();
  return restore();
}

}  // namespace tpmauthn::config
