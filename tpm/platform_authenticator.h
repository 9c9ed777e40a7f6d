// The TPM authenticator behind the webauthn::Authenticator interface, as the
// PAM relying party uses it: picks the first allowed credential whose key is in
// this machine's store, asks its PIN through the UserInterface (naming the
// credential's label), and signs.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tpm/connection.h"
#include "tpm/key_store.h"
#include "tpm/tpm_authenticator.h"
#include "webauthn/authenticator.h"

namespace tpmauthn::tpm {

class PlatformAuthenticator : public webauthn::Authenticator {
 public:
  // Connects to the TPM (`tcti` as for Connection::Open).
  static webauthn::Result<std::unique_ptr<PlatformAuthenticator>, webauthn::AuthenticatorError>
  Open(const config::TctiConfig& tcti, const std::string& store_dir,
       webauthn::UserInterface& ui, std::string prompt_template);

  // True if the store holds a key for `credential_id` (no TPM access).
  static bool HasKey(const std::string& store_dir, webauthn::ByteView credential_id);
  // The user the store's key for `credential_id` was enrolled for; nullopt
  // when the store has no such key (no TPM access).
  static config::ConfigResult<std::optional<std::string>> EnrolledUser(
      const std::string& store_dir, webauthn::ByteView credential_id);

  webauthn::Result<webauthn::AssertionOutput, webauthn::AuthenticatorError> GetAssertion(
      const webauthn::GetAssertionOptions& options) override;

 private:
  PlatformAuthenticator(std::unique_ptr<Connection> connection, const std::string& store_dir,
                        webauthn::UserInterface& ui, std::string prompt_template);
  std::unique_ptr<Connection> connection_;
  KeyStore store_;
  TpmAuthenticator tpm_;
  webauthn::UserInterface& ui_;
  std::string prompt_template_;  // "%s" is replaced by the credential label
};

webauthn::AuthenticatorError ToAuthenticatorError(const TpmError& error);

}  // namespace tpmauthn::tpm
