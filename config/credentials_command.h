// credentials_command=: credential lines from a program, as sshd takes keys
// from its AuthorizedKeysCommand — so a directory client (libldap, for
// `tpmauthn ldap-credentials`) never loads into sshd, sudo or login. The
// program runs as credentials_command_user with a fixed environment, its
// output bounded in size and time; a failure is never "no credentials".
// Exit status 75 (EX_TEMPFAIL, sysexits.h) means "the directory could not be
// reached": then, and only then, the last good answer stands in, up to
// cache_max_age (config/credentials_cache.h).
#pragma once

#include <string>
#include <vector>

namespace tpmauthn::config {

inline constexpr int kCommandTimeoutMs = 5000;
inline constexpr size_t kCommandOutputLimit = 1024 * 1024;
inline constexpr int kExitDirectoryUnreachable = 75;  // EX_TEMPFAIL

struct CommandOutcome {
  enum class Status { kOk, kUnreachable, kFailed };
  Status status = Status::kFailed;
  std::string output;  // stdout, when kOk
  std::string why;     // for the log: exit status, signal, timeout, last stderr line
};

// Runs `argv` (argv[0] an absolute path, no symbolic link on the way, to a
// root-owned program not writable by group or others, in directories likewise
// or root-owned and sticky as /tmp) with `user` appended, as
// `run_as` (its uid, gid, and no supplementary groups), with stdin /dev/null,
// PATH=/usr/sbin:/usr/bin:/sbin:/bin and nothing else in the environment,
// every other descriptor closed and every signal at its default, in a
// process group of its own. Killed with that group after `timeout_ms` or once
// stdout passes `limit` bytes. Needs root.
CommandOutcome RunCredentialsCommand(const std::vector<std::string>& argv,
                                     const std::string& user, const std::string& run_as,
                                     int timeout_ms = kCommandTimeoutMs,
                                     size_t limit = kCommandOutputLimit);

}  // namespace tpmauthn::config
