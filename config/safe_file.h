// File access with the checks a PAM module needs: no symlinks, regular files,
// owner and mode checked, atomic durable replacement, advisory locks.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace tpmauthn::config {

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct FileRules {
  // The file must be owned by one of these uids.
  std::vector<uid_t> owners;
  // Group- or world-writable files are refused unless this is set.
  bool allow_group_or_world_writable = false;
};

enum class OpenStatus { kOpened, kMissing };

struct OpenedFile {
  OpenStatus status = OpenStatus::kMissing;
  UniqueFd fd;
};

// Opens `path` read-only with O_NOFOLLOW|O_CLOEXEC|O_NOCTTY and checks with
// fstat that it is a regular file with an allowed owner and mode. A missing
// file is kMissing, not an error; every other failure (EACCES, ELOOP for a
// symlink, wrong owner, ...) is an error that says why.
ConfigResult<OpenedFile> OpenChecked(const std::string& path, const FileRules& rules);

// Opens the directory `path` (absolute) one component at a time from "/",
// each with O_NOFOLLOW, and checks every component: a directory owned by root
// or by this process's effective uid, not writable by group or others — except
// that a root-owned sticky directory such as /tmp may be passed through,
// since nobody else can rename or remove what it holds. The last component
// is created with `create_mode` if missing (and checked like the others);
// a missing parent is an error, never created. Returns the directory's fd.
ConfigResult<UniqueFd> OpenTrustedDirectory(const std::string& path, mode_t create_mode);

// Reads the rest of `fd` (at most `limit` bytes; more is an error).
ConfigResult<std::string> ReadAll(int fd, const std::string& name, size_t limit);

// Replaces `path` atomically and durably: an unnamed file in the same directory
// (O_TMPFILE; a named O_EXCL|O_NOFOLLOW one where the filesystem lacks it),
// written, given `mode` (and `owner` when set), fsync'd, linked under a
// temporary name, renamed over `path`, then the directory fsync'd. On failure
// the old file is untouched and the temporary file removed — except when only
// the final close or directory fsync failed: then the new contents are in
// place and the error has `committed` set. A writer killed
// mid-way leaves at most a ".BASE.tmp-XXXXXXXXXXXXXXXX" file, which the next
// call for `path` removes: callers serialize writers of one path (FileLock).
ConfigResult<void> AtomicReplace(const std::string& path, std::string_view contents, mode_t mode,
                                 std::optional<std::pair<uid_t, gid_t>> owner = std::nullopt);

// Creates `path` with `contents` the same way, but never replaces: the file is
// linked in place complete (link(2)), and an existing `path` is an error
// ("already exists"). A writer killed mid-way leaves nothing behind; a failed
// directory fsync removes the new file again.
ConfigResult<void> AtomicCreate(const std::string& path, std::string_view contents, mode_t mode,
                                std::optional<std::pair<uid_t, gid_t>> owner = std::nullopt);

// An exclusive flock(2) on `lock_path` (created 0600 if needed), released on
// destruction. Serializes writers; readers never need it because files are
// only ever replaced whole.
class FileLock {
 public:
  static ConfigResult<FileLock> Acquire(const std::string& lock_path);
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  ~FileLock();

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

std::string ErrnoMessage(int err);

}  // namespace tpmauthn::config
