// Checked opening, atomic replacement and locking of configuration and state files.
#include "config/safe_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

namespace tpmauthn::config {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ErrnoMessage(int err) {
  char buffer[256];
  return std::string(strerror_r(err, buffer, sizeof(buffer)));
}

ConfigResult<OpenedFile> OpenChecked(const std::string& path, const FileRules& rules) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return OpenedFile{OpenStatus::kMissing, UniqueFd()};
    if (err == ELOOP) return ConfigFail(path + ": is a symbolic link (refused)");
    return ConfigFail(path + ": cannot open: " + ErrnoMessage(err));
  }
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ConfigFail(path + ": cannot stat: " + ErrnoMessage(errno));
  if (!S_ISREG(st.st_mode)) return ConfigFail(path + ": not a regular file");
  if (std::find(rules.owners.begin(), rules.owners.end(), st.st_uid) == rules.owners.end()) {
    return ConfigFail(path + ": owned by uid " + std::to_string(st.st_uid) +
                      ", which is not allowed to own it");
  }
  if (!rules.allow_group_or_world_writable && (st.st_mode & (S_IWGRP | S_IWOTH))) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return ConfigFail(path + ": group- or world-writable (mode " + mode + ")");
  }
  // O_NONBLOCK only guarded the open against FIFOs; reads should block normally.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return OpenedFile{OpenStatus::kOpened, std::move(owned)};
}

ConfigResult<UniqueFd> OpenTrustedDirectory(const std::string& path, mode_t create_mode) {
  if (path.empty() || path.front() != '/') return ConfigFail(path + ": not an absolute path");
  const uid_t self = ::geteuid();
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd dir(::open("/", kFlags));  // O_CLOEXEC in kFlags
  if (!dir) return ConfigFail("/: cannot open: " + ErrnoMessage(errno));
  std::string walked;
  auto check = [&](int fd, bool last) -> ConfigResult<void> {
    const std::string& name = walked.empty() ? std::string("/") : walked;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return ConfigFail(name + ": cannot stat: " + ErrnoMessage(errno));
    if (st.st_uid != 0 && st.st_uid != self) {
      return ConfigFail(name + ": owned by uid " + std::to_string(st.st_uid) +
                        " (must be root's)");
    }
    const bool shared_sticky = !last && st.st_uid == 0 && (st.st_mode & S_ISVTX);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !shared_sticky) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return ConfigFail(name + ": writable by group or others (mode " + mode + ")");
    }
    return {};
  };
  size_t start = 1;
  if (auto ok = check(dir.get(), path.find_first_not_of('/') == std::string::npos); !ok) {
    return ok.error();
  }
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string component = path.substr(start, slash - start);
    start = slash + 1;
    if (component.empty() || component == ".") continue;
    if (component == "..") return ConfigFail(path + ": contains \"..\"");
    walked += "/" + component;
    const bool last = path.find_first_not_of('/', slash) == std::string::npos;
    UniqueFd next(::openat(dir.get(), component.c_str(), kFlags));  // O_CLOEXEC in kFlags
    if (!next && errno == ENOENT && last) {
      if (::mkdirat(dir.get(), component.c_str(), create_mode) != 0 && errno != EEXIST) {
        return ConfigFail(walked + ": cannot create: " + ErrnoMessage(errno));
      }
      next = UniqueFd(::openat(dir.get(), component.c_str(), kFlags));  // O_CLOEXEC in kFlags
    }
    if (!next) {
      const int err = errno;
      if (err == ENOENT) {
        return ConfigFail(walked + ": missing (create it: root-owned, not writable by others)");
      }
      if (err == ELOOP || err == ENOTDIR) {
        return ConfigFail(walked + ": not a directory (a symbolic link or a file; refused)");
      }
      return ConfigFail(walked + ": cannot open: " + ErrnoMessage(err));
    }
    if (auto ok = check(next.get(), last); !ok) return ok.error();
    dir = std::move(next);
  }
  return dir;
}

ConfigResult<std::string> ReadAll(int fd, const std::string& name, size_t limit) {
  std::string out;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ConfigFail(name + ": read failed: " + ErrnoMessage(errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > limit) {
      return ConfigFail(name + ": larger than " + std::to_string(limit) + " bytes");
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

namespace {

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

bool WriteFully(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// "." + base + ".tmp-" + 16 hex digits: the name a temporary file of `base` has.
bool IsTemporaryOf(std::string_view name, std::string_view base) {
  const std::string prefix = "." + std::string(base) + ".tmp-";
  if (name.size() != prefix.size() + 16 || name.substr(0, prefix.size()) != prefix) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// A writer killed between creating its named temporary file and the rename
// leaves the file behind; the next writer (who holds the lock) removes it.
void RemoveStaleTemporaries(const std::string& dir, const std::string& base) {
  std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(dir.c_str()), ::closedir);
  if (!listing) return;
  while (const dirent* entry = ::readdir(listing.get())) {
    if (IsTemporaryOf(entry->d_name, base)) ::unlinkat(::dirfd(listing.get()), entry->d_name, 0);
  }
}

std::string TemporaryName(const std::string& dir, const std::string& base) {
  std::random_device random;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x%08x", random(), random());
  return dir + "/." + base + ".tmp-" + suffix;
}

// Links the unnamed (O_TMPFILE) file `fd` at `target`; fails with EEXIST if
// `target` exists.
bool LinkFd(int fd, const std::string& target) {
  const std::string proc_path = "/proc/self/fd/" + std::to_string(fd);
  if (::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW) == 0) {
    return true;
  }
  // Without /proc, AT_EMPTY_PATH does the same (it needs CAP_DAC_READ_SEARCH).
  return errno == ENOENT && ::linkat(fd, "", AT_FDCWD, target.c_str(), AT_EMPTY_PATH) == 0;
}

// Gives the unnamed file `fd` a fresh temporary name in `dir`.
bool LinkUnnamed(int fd, const std::string& dir, const std::string& base, std::string& temp) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    temp = TemporaryName(dir, base);
    if (LinkFd(fd, temp)) return true;
    if (errno != EEXIST) return false;
  }
  return false;
}

enum class Existing { kReplace, kRefuse };

ConfigResult<void> WriteAtomically(const std::string& path, std::string_view contents, mode_t mode,
                                   std::optional<std::pair<uid_t, gid_t>> owner,
                                   Existing existing) {
  auto [dir, base] = SplitPath(path);
  RemoveStaleTemporaries(dir, base);
  // The file stays unnamed (O_TMPFILE) while it is written, so a writer killed
  // meanwhile leaves nothing behind. Filesystems without O_TMPFILE get a named
  // temporary file from the start.
  std::string temp;
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  const bool unnamed = static_cast<bool>(fd);
  if (!fd && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return ConfigFail(path + ": cannot create a temporary file: " + ErrnoMessage(errno));
  }
  for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
    temp = TemporaryName(dir, base);
    fd = UniqueFd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd && errno != EEXIST) {
      return ConfigFail(path + ": cannot create a temporary file: " + ErrnoMessage(errno));
    }
  }
  if (!fd) return ConfigFail(path + ": cannot create a temporary file");
  auto fail = [&](const char* what) -> ConfigResult<void> {
    int err = errno;
    if (!temp.empty()) ::unlink(temp.c_str());
    if (err == EEXIST) return ConfigFail(path + ": already exists");
    return ConfigFail(path + ": " + what + ": " + ErrnoMessage(err));
  };
  if (!WriteFully(fd.get(), contents)) return fail("write failed");
  if (owner && ::fchown(fd.get(), owner->first, owner->second) != 0) return fail("chown failed");
  if (::fchmod(fd.get(), mode) != 0) return fail("chmod failed");
  if (::fsync(fd.get()) != 0) return fail("fsync failed");
  if (existing == Existing::kRefuse) {
    // link(2) never replaces: the file appears complete, or not at all.
    if (unnamed ? !LinkFd(fd.get(), path) : ::link(temp.c_str(), path.c_str()) != 0) {
      return fail("cannot link the new file");
    }
    if (!temp.empty()) ::unlink(temp.c_str());
  } else {
    if (unnamed && !LinkUnnamed(fd.get(), dir, base, temp)) {
      temp.clear();  // nothing was linked, so nothing to remove
      return fail("cannot link the temporary file");
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) return fail("rename failed");
  }
  temp.clear();
  // The new file is in place. If it cannot be made durable, a new file is
  // taken back (it appears complete or not at all); a replaced one stays, and
  // the error says so.
  auto not_durable = [&](const char* what) -> ConfigResult<void> {
    const int err = errno;
    if (existing == Existing::kRefuse) {
      ::unlink(path.c_str());
      return ConfigFail(path + ": " + what + ": " + ErrnoMessage(err) + " (the file was removed)");
    }
    ConfigError error{path + ": " + what + ": " + ErrnoMessage(err) +
                      " (the new contents are in place but may not survive a crash)"};
    error.committed = true;
    return error;
  };
  if (::close(fd.release()) != 0) return not_durable("close failed");
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd || ::fsync(dir_fd.get()) != 0) return not_durable("directory fsync failed");
  return {};
}

}  // namespace

ConfigResult<void> AtomicReplace(const std::string& path, std::string_view contents, mode_t mode,
                                 std::optional<std::pair<uid_t, gid_t>> owner) {
  return WriteAtomically(path, contents, mode, owner, Existing::kReplace);
}

ConfigResult<void> AtomicCreate(const std::string& path, std::string_view contents, mode_t mode,
                                std::optional<std::pair<uid_t, gid_t>> owner) {
  return WriteAtomically(path, contents, mode, owner, Existing::kRefuse);
}

ConfigResult<FileLock> FileLock::Acquire(const std::string& lock_path) {
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return ConfigFail(lock_path + ": cannot open lock: " + ErrnoMessage(errno));
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ConfigFail(lock_path + ": cannot lock: " + ErrnoMessage(errno));
  }
  return FileLock(std::move(fd));
}

FileLock::~FileLock() = default;  // closing the descriptor releases the flock

}  // namespace tpmauthn::config
