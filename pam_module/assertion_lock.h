// Orders local assertions: the TPM issues a signature counter and the relying
// party stores it under one lock per state directory, so concurrent logins
// with one credential store counters in the order the TPM issued them. (Else
// a later signature could be stored first and the earlier, valid one refused
// as a counter regression — WebAuthn L3 §7.2 step 22.) The lock is never held
// while the user is asked for a PIN: this wraps the user interface and lets
// go of the lock around each prompt.
#pragma once

#include <optional>
#include <string>

#include "config/config_error.h"
#include "config/safe_file.h"
#include "webauthn/authenticator.h"

namespace tpmauthn::pam {

class AssertionLock final : public webauthn::UserInterface {
 public:
  AssertionLock(webauthn::UserInterface& ui, std::string lock_path)
      : ui_(ui), lock_path_(std::move(lock_path)) {}

  // Takes the lock (blocks while another login holds it).
  config::ConfigResult<void> Enter();
  // Lets it go; idempotent.
  void Leave() { lock_.reset(); }
  // Why the lock could not be taken again after a prompt, if it could not
  // (the answer to that prompt was then withheld).
  const std::optional<config::ConfigError>& failure() const { return failure_; }

  std::optional<webauthn::SecretBytes> AskSecret(const std::string& prompt) override;
  std::optional<std::string> AskText(const std::string& prompt) override;
  void Info(const std::string& message) override { ui_.Info(message); }
  void Error(const std::string& message) override { ui_.Error(message); }

 private:
  // Runs `ask` without the lock and takes it again afterwards if it was held.
  template <typename Ask>
  auto Unlocked(Ask&& ask) -> decltype(ask());

  webauthn::UserInterface& ui_;
  std::string lock_path_;
  std::optional<config::FileLock> lock_;
  std::optional<config::ConfigError> failure_;
};

}  // namespace tpmauthn::pam
