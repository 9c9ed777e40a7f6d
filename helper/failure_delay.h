// tpmauthn-helper's per-user failure delay. Through the helper, any user can
// start PIN attempts; without a delay a script could spend a whole TPM's
// dictionary-attack budget (legacy credentials: shared by every user) or its
// own credential's tries faster than a person types. So the helper lets a
// user's PIN reach the TPM only kFailureDelay after that user's last wrong
// PIN, one attempt at a time per user, whichever locker or how many helpers
// the user runs.
//
// An attempt counts as a failure from the moment it starts: the helper runs
// with the user's real uid, so the user may kill it after the TPM refused the
// PIN and before it could write that down. Only an attempt that ends in
// anything but a wrong PIN gives the earlier timestamp back.
//
// The timestamps are CLOCK_BOOTTIME nanoseconds in
// <state>/helper-delay/<uid> (root's, 0600, locked with flock): a timestamp
// from before a reboot, or a damaged file, means "wait the whole delay".
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config_error.h"
#include "config/safe_file.h"
#include "webauthn/authenticator.h"

namespace tpmauthn::helper {

inline constexpr std::chrono::milliseconds kFailureDelay{2000};

class FailureDelay {
 public:
  FailureDelay(std::string state_dir, uid_t uid, std::chrono::nanoseconds delay = kFailureDelay)
      : state_dir_(std::move(state_dir)), uid_(uid), delay_(delay) {}

  // Takes the user's lock, waits out the delay after the last failure and
  // records this attempt as a failure (until Leave says otherwise).
  config::ConfigResult<void> Enter();
  // Ends the attempt: a wrong PIN keeps the failure, anything else puts the
  // previous timestamp back. Lets the lock go. No-op when not entered.
  void Leave(bool wrong_pin);

 private:
  std::string state_dir_;
  uid_t uid_;
  std::chrono::nanoseconds delay_;
  config::UniqueFd fd_;       // the user's file, locked, while an attempt runs
  uint64_t previous_ = 0;     // the timestamp before this attempt
};

// The user interface the helper's relying party talks through: after each
// PIN the user gave, and before the TPM sees it, FailureDelay::Enter.
// DelayedAuthenticator calls Leave when the TPM has answered.
class DelayedInterface final : public webauthn::UserInterface {
 public:
  DelayedInterface(webauthn::UserInterface& ui, FailureDelay& delay) : ui_(ui), delay_(delay) {}
  std::optional<webauthn::SecretBytes> AskSecret(const std::string& prompt) override;
  std::optional<std::string> AskText(const std::string& prompt) override {
    return ui_.AskText(prompt);
  }
  void Info(const std::string& message) override { ui_.Info(message); }
  void Error(const std::string& message) override { ui_.Error(message); }
  // Why the delay could not be applied, if it could not (the PIN was then
  // withheld from the TPM).
  const std::optional<config::ConfigError>& failure() const { return failure_; }

 private:
  webauthn::UserInterface& ui_;
  FailureDelay& delay_;
  std::optional<config::ConfigError> failure_;
};

class DelayedAuthenticator final : public webauthn::Authenticator {
 public:
  DelayedAuthenticator(std::unique_ptr<webauthn::Authenticator> inner, FailureDelay& delay,
                       const DelayedInterface& ui)
      : inner_(std::move(inner)), delay_(delay), ui_(ui) {}
  webauthn::Result<webauthn::AssertionOutput, webauthn::AuthenticatorError> GetAssertion(
      const webauthn::GetAssertionOptions& options) override;

 private:
  std::unique_ptr<webauthn::Authenticator> inner_;
  FailureDelay& delay_;
  const DelayedInterface& ui_;
};

}  // namespace tpmauthn::helper
