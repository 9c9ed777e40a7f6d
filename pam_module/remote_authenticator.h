// The client's own authenticator, reached through the PAM conversation (SSH
// keyboard-interactive): one prompt carries a RemoteRequest; the answer is a
// RemoteReply made on the user's machine (tpmauthn ssh / tpmauthn respond).
// The server needs no TPM for this.
#pragma once

#include "webauthn/authenticator.h"

namespace tpmauthn::pam {

class RemoteAuthenticator : public webauthn::Authenticator {
 public:
  explicit RemoteAuthenticator(webauthn::UserInterface& ui) : ui_(ui) {}

  // Sends the request, parses the reply strictly. The reply's clientDataJSON
  // is returned for the relying party to verify; nothing is trusted here.
  webauthn::Result<webauthn::AssertionOutput, webauthn::AuthenticatorError> GetAssertion(
      const webauthn::GetAssertionOptions& options) override;

  // The text of the prompt for `options` (request line + a line for people).
  static std::string Prompt(const webauthn::GetAssertionOptions& options);

 private:
  webauthn::UserInterface& ui_;
};

}  // namespace tpmauthn::pam
