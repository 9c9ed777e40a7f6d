// tpmauthn-helper's per-user failure delay (failure_delay.h).
#include "helper/failure_delay.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tpmauthn::helper {
namespace {

uint64_t BootNanoseconds() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

void SleepNanoseconds(uint64_t ns) {
  timespec left{static_cast<time_t>(ns / 1000000000u), static_cast<long>(ns % 1000000000u)};
  while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

// The stored timestamp; nullopt for a damaged file (8 bytes, big-endian).
std::optional<uint64_t> ReadStamp(int fd) {
  uint8_t bytes[8];
  ssize_t n = ::pread(fd, bytes, sizeof(bytes), 0);
  if (n == 0) return uint64_t{0};  // a new file: no failure yet
  if (n != static_cast<ssize_t>(sizeof(bytes))) return std::nullopt;
  uint64_t value = 0;
  for (uint8_t b : bytes) value = (value << 8) | b;
  return value;
}

bool WriteStamp(int fd, uint64_t value) {
  uint8_t bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
  return ::pwrite(fd, bytes, sizeof(bytes), 0) == static_cast<ssize_t>(sizeof(bytes));
}

}  // namespace

config::ConfigResult<void> FailureDelay::Enter() {
  if (fd_) return {};  // already inside this attempt
  const std::string dir_path = state_dir_ + "/helper-delay";
  auto dir = config::OpenTrustedDirectory(dir_path, 0700);
  if (!dir) return dir.error();
  const std::string name = std::to_string(uid_);
  config::UniqueFd fd(
      ::openat(dir->get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600));
  if (!fd) return config::ConfigFail(dir_path + "/" + name + ": " + config::ErrnoMessage(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    return config::ConfigFail(dir_path + "/" + name +
                              ": not a regular file of this user's, mode 0600");
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return config::ConfigFail(dir_path + "/" + name + ": flock: " + config::ErrnoMessage(errno));
    }
  }
  const uint64_t now = BootNanoseconds();
  const std::optional<uint64_t> stamp = ReadStamp(fd.get());
  // Damaged, or from before a reboot: the whole delay from now.
  const uint64_t last = !stamp || *stamp > now ? now : *stamp;
  const uint64_t delay = static_cast<uint64_t>(delay_.count());
  if (last != 0 && now < last + delay) SleepNanoseconds(last + delay - now);
  previous_ = last;
  if (!WriteStamp(fd.get(), BootNanoseconds())) {
    return config::ConfigFail(dir_path + "/" + name + ": cannot record the attempt: " +
                              config::ErrnoMessage(errno));
  }
  fd_ = std::move(fd);
  return {};
}

void FailureDelay::Leave(bool wrong_pin) {
  if (!fd_) return;
  if (!wrong_pin) WriteStamp(fd_.get(), previous_);
  fd_ = config::UniqueFd();  // closing it lets the lock go
}

std::optional<webauthn::SecretBytes> DelayedInterface::AskSecret(const std::string& prompt) {
  std::optional<webauthn::SecretBytes> pin = ui_.AskSecret(prompt);
  if (!pin) return pin;
  if (auto entered = delay_.Enter(); !entered) {
    failure_ = entered.error();
    return std::nullopt;
  }
  return pin;
}

webauthn::Result<webauthn::AssertionOutput, webauthn::AuthenticatorError>
DelayedAuthenticator::GetAssertion(const webauthn::GetAssertionOptions& options) {
  auto result = inner_->GetAssertion(options);
  delay_.Leave(!result && result.error().kind == webauthn::AuthenticatorErrorKind::kWrongPin);
  if (ui_.failure()) {
    return webauthn::AuthenticatorError{webauthn::AuthenticatorErrorKind::kUnavailable,
                                        "failure delay: " + ui_.failure()->message, std::nullopt,
                                        std::nullopt, false, {}};
  }
  return result;
}

}  // namespace tpmauthn::helper
