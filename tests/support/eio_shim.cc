// Test-only LD_PRELOAD library: makes file system calls on one directory fail
// with EIO, the way a dying disk does. Never installed.
//
//   TPMAUTHN_EIO_DIR=/abs/dir  TPMAUTHN_EIO_CALL=write|fsync|fsync-dir|rename|link
//
// "fsync" is fsync of a file in the directory, "fsync-dir" of the directory
// itself; "link" covers link/linkat (how new files are named). Every matching
// call fails; all other calls pass through.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>

namespace {

bool Armed(const char* call) {
  const char* want = getenv("TPMAUTHN_EIO_CALL");
  return want && strcmp(want, call) == 0 && getenv("TPMAUTHN_EIO_DIR");
}

std::string FdPath(int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

bool InDir(const std::string& path) {
  const std::string dir = getenv("TPMAUTHN_EIO_DIR");
  return path.compare(0, dir.size() + 1, dir + "/") == 0;
}

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* data, size_t size) {
  if (Armed("write") && InDir(FdPath(fd))) {
    errno = EIO;
    return -1;
  }
  static auto next = Next<ssize_t (*)(int, const void*, size_t)>("write");
  return next(fd, data, size);
}

int fsync(int fd) {
  const std::string path = (Armed("fsync") || Armed("fsync-dir")) ? FdPath(fd) : std::string();
  if ((Armed("fsync") && InDir(path)) || (Armed("fsync-dir") && path == getenv("TPMAUTHN_EIO_DIR"))) {
    errno = EIO;
    return -1;
  }
  static auto next = Next<int (*)(int)>("fsync");
  return next(fd);
}

int rename(const char* from, const char* to) {
  if (Armed("rename") && InDir(to)) {
    errno = EIO;
    return -1;
  }
  static auto next = Next<int (*)(const char*, const char*)>("rename");
  return next(from, to);
}

int link(const char* from, const char* to) {
  if (Armed("link") && InDir(to)) {
    errno = EIO;
    return -1;
  }
  static auto next = Next<int (*)(const char*, const char*)>("link");
  return next(from, to);
}

int linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) {
  if (Armed("link") && to_dir == AT_FDCWD && InDir(to)) {
    errno = EIO;
    return -1;
  }
  static auto next = Next<int (*)(int, const char*, int, const char*, int)>("linkat");
  return next(from_dir, from, to_dir, to, flags);
}

}  // extern "C"
