// The relying party's lock around local assertions.
#include "pam_module/assertion_lock.h"

namespace tpmauthn::pam {

config::ConfigResult<void> AssertionLock::Enter() {
  if (lock_) return {};
  auto lock = config::FileLock::Acquire(lock_path_);
  if (!lock) return lock.error();
  lock_.emplace(std::move(*lock));
  return {};
}

template <typename Ask>
auto AssertionLock::Unlocked(Ask&& ask) -> decltype(ask()) {
  const bool held = lock_.has_value();
  Leave();
  auto answer = ask();
  if (held) {
    if (auto again = Enter(); !again) {
      failure_ = again.error();
      return std::nullopt;
    }
  }
  return answer;
}

std::optional<webauthn::SecretBytes> AssertionLock::AskSecret(const std::string& prompt) {
  return Unlocked([&] { return ui_.AskSecret(prompt); });
}

std::optional<std::string> AssertionLock::AskText(const std::string& prompt) {
  return Unlocked([&] { return ui_.AskText(prompt); });
}

}  // namespace tpmauthn::pam
