// TPM authenticator adapter for the relying party.
#include "tpm/platform_authenticator.h"

#include <sys/stat.h>

namespace tpmauthn::tpm {

using webauthn::AuthenticatorError;
using webauthn::AuthenticatorErrorKind;

AuthenticatorError ToAuthenticatorError(const TpmError& error) {
  AuthenticatorErrorKind kind = AuthenticatorErrorKind::kRefused;
  switch (error.kind) {
    case TpmErrorKind::kUnavailable:
    case TpmErrorKind::kBusy:
    case TpmErrorKind::kWrongTpm:
    case TpmErrorKind::kStore:
      kind = AuthenticatorErrorKind::kUnavailable;
      break;
    case TpmErrorKind::kLockout:
      kind = AuthenticatorErrorKind::kLockout;
      break;
    case TpmErrorKind::kWrongPin:
      kind = AuthenticatorErrorKind::kWrongPin;
      break;
    case TpmErrorKind::kPinBlocked:
      kind = AuthenticatorErrorKind::kPinBlocked;
      break;
    case TpmErrorKind::kPolicy:
    case TpmErrorKind::kRefused:
      kind = AuthenticatorErrorKind::kRefused;
      break;
  }
  return AuthenticatorError{kind, error.message, error.tries_left, error.recovery_seconds,
                            error.per_credential_pin, {}};
}

PlatformAuthenticator::PlatformAuthenticator(std::unique_ptr<Connection> connection,
                                             const std::string& store_dir,
                                             webauthn::UserInterface& ui,
                                             std::string prompt_template)
    : connection_(std::move(connection)),
      store_(store_dir),
      tpm_(*connection_, store_),
      ui_(ui),
      prompt_template_(std::move(prompt_template)) {}

webauthn::Result<std::unique_ptr<PlatformAuthenticator>, AuthenticatorError>
PlatformAuthenticator::Open(const config::TctiConfig& tcti, const std::string& store_dir,
                            webauthn::UserInterface& ui, std::string prompt_template) {
  auto connection = Connection::Open(tcti);
  if (!connection) return ToAuthenticatorError(connection.error());
  return std::unique_ptr<PlatformAuthenticator>(new PlatformAuthenticator(
      std::move(*connection), store_dir, ui, std::move(prompt_template)));
}

bool PlatformAuthenticator::HasKey(const std::string& store_dir, webauthn::ByteView credential_id) {
  struct stat st {};
  return ::lstat(KeyStore(store_dir).PathFor(credential_id).c_str(), &st) == 0;
}

config::ConfigResult<std::optional<std::string>> PlatformAuthenticator::EnrolledUser(
    const std::string& store_dir, webauthn::ByteView credential_id) {
  if (!HasKey(store_dir, credential_id)) return std::optional<std::string>();
  auto record = KeyStore(store_dir).Load(credential_id);
  if (!record) return config::ConfigFail(record.error().message);
  return std::optional<std::string>(record->user);
}

webauthn::Result<webauthn::AssertionOutput, AuthenticatorError>
PlatformAuthenticator::GetAssertion(const webauthn::GetAssertionOptions& options) {
  std::optional<KeyRecord> chosen;
  for (const webauthn::Bytes& id : options.allow_credentials) {
    if (!HasKey(store_.dir(), id)) continue;
    auto record = store_.Load(id);
    if (!record) return ToAuthenticatorError(record.error());
    if (record->rp_id != options.rp_id) continue;
    if (options.require_user_verification && !record->pin) continue;
    chosen = std::move(*record);
    break;
  }
  if (!chosen) {
    return AuthenticatorError{AuthenticatorErrorKind::kNotFound,
                              "no allowed credential has a key in " + store_.dir() +
                                  (options.require_user_verification
                                       ? " (that can do user verification)"
                                       : ""),
                              std::nullopt, std::nullopt, {}, {}};
  }
  SecretBytes pin;
  if (chosen->pin) {
    std::string label = chosen->label.empty() ? "this computer's TPM" : chosen->label;
    std::string prompt = prompt_template_;
    if (auto at = prompt.find("%s"); at != std::string::npos) prompt.replace(at, 2, label);
    std::optional<SecretBytes> answer = ui_.AskSecret(prompt);
    if (!answer || answer->empty()) {
      return AuthenticatorError{AuthenticatorErrorKind::kCancelled, "no PIN was entered",
                                std::nullopt, std::nullopt, {}, {}};
    }
    pin = std::move(*answer);
  }
  auto made = tpm_.GetAssertion({options.rp_id, options.client_data_hash, chosen->credential_id},
                                chosen->pin ? &pin : nullptr);
  pin.Wipe();
  if (!made) return ToAuthenticatorError(made.error());
  return webauthn::AssertionOutput{made->credential_id, made->authenticator_data,
                                   made->signature, made->user_handle, std::nullopt};
}

}  // namespace tpmauthn::tpm
