// Remote-mode authenticator over the PAM conversation.
#include "pam_module/remote_authenticator.h"

#include "webauthn/remote_message.h"

namespace tpmauthn::pam {

using webauthn::AuthenticatorError;
using webauthn::AuthenticatorErrorKind;

std::string RemoteAuthenticator::Prompt(const webauthn::GetAssertionOptions& options) {
  webauthn::RemoteRequest request;
  request.challenge = options.challenge;
  request.rp_id = options.rp_id;
  request.user_verification = options.require_user_verification;
  for (const auto& id : options.allow_credentials) {
    if (request.credential_digests.size() == webauthn::kMaxRemoteCredentials) break;
    request.credential_digests.push_back(webauthn::CredentialDigest(id));
  }
  return request.Encode() +
         "\nSign in with your own computer's TPM: use `tpmauthn ssh`, or paste the answer of "
         "`tpmauthn respond --origin ssh://THIS-HOST`: ";
}

webauthn::Result<webauthn::AssertionOutput, AuthenticatorError> RemoteAuthenticator::GetAssertion(
    const webauthn::GetAssertionOptions& options) {
  std::optional<std::string> answer = ui_.AskText(Prompt(options));
  if (!answer || answer->empty()) {
    return AuthenticatorError{AuthenticatorErrorKind::kCancelled, "no answer from the client",
                              std::nullopt, std::nullopt, {}, {}};
  }
  auto reply = webauthn::RemoteReply::Parse(*answer);
  if (!reply) {
    return AuthenticatorError{AuthenticatorErrorKind::kRefused, reply.error().message,
                              std::nullopt, std::nullopt, {}, {}};
  }
  return webauthn::AssertionOutput{reply->credential_id, reply->authenticator_data,
                                   reply->signature, std::nullopt, reply->client_data_json};
}

}  // namespace tpmauthn::pam
