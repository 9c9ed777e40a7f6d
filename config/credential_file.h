// Reading a credentials file (central or per-user): every line is checked,
// duplicate credential ids are errors, and errors say "FILE:LINE: what".
// Streams the file, so a 100,000-line file costs a few megabytes at most.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/credential.h"

namespace tpmauthn::config {

// Reads from `fd` (from its current offset; `fd` must be seekable if the file
// holds two credential ids with the same 64-bit hash, which is then checked
// exactly). Returns the credentials of `user`, or of everybody when `user` is
// nullopt. Every line is syntax-checked (ScanLine) and duplicate ids are
// refused; the selected lines are also fully validated (the public key parsed
// as a COSE_Key of its algorithm). Looking up one user therefore does not pay
// for parsing every key in a large file; `tpmauthn list` validates them all.
ConfigResult<std::vector<Credential>> ReadCredentials(int fd, const std::string& name,
                                                      const std::optional<std::string>& user);

// Where a watched credential id (base64url) appears, and for whom.
struct IdHolder {
  std::string id;
  std::string user;
  size_t line = 0;
};

// ReadCredentials, also reporting every line (of any user) whose id is one of
// `watch`, in `holders` — for refusing personal-file lines that name ids
// enrolled in the central file.
ConfigResult<std::vector<Credential>> ReadCredentials(int fd, const std::string& name,
                                                      const std::optional<std::string>& user,
                                                      const std::vector<std::string>& watch,
                                                      std::vector<IdHolder>& holders);

// The same over text in memory.
ConfigResult<std::vector<Credential>> ParseCredentials(std::string_view text,
                                                       const std::string& name,
                                                       const std::optional<std::string>& user);

// Checks every line of `text` (syntax, and duplicate ids) without building
// credentials.
ConfigResult<void> CheckCredentials(std::string_view text, const std::string& name);

}  // namespace tpmauthn::config
