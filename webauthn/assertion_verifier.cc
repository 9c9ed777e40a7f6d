// WebAuthn L3 §7.2 "Verifying an Authentication Assertion".
#include "webauthn/assertion_verifier.h"

#include "webauthn/authenticator_data.h"

namespace tpmauthn::webauthn {

Result<VerifiedAssertion> VerifyAssertion(const AssertionResponse& response,
                                          const CredentialRecord& credential,
                                          const AssertionExpectations& expected) {
  if (auto ok = CheckEnvelope(response.envelope); !ok) return ok.error();
  if (!ConstantTimeEquals(response.envelope.raw_id, credential.id)) {
    return Fail(Check::kCredentialId, "credential id is not the expected credential");
  }
  if (expected.user_handle && response.user_handle &&
      !ConstantTimeEquals(*response.user_handle, *expected.user_handle)) {
    return Fail(Check::kUserHandle, "userHandle does not identify the expected user");
  }
  auto client_data = CheckClientData(response.client_data_json, kTypeGet, expected);
  if (!client_data) return client_data.error();

  auto auth_data = AuthenticatorData::Parse(response.authenticator_data);
  if (!auth_data) return auth_data.error();
  if (auth_data->attested) {
    return Fail(Check::kAuthenticatorData,
                "authenticatorData: attested credential data in an assertion");
  }
  auto rp_id = CheckRpIdHash(*auth_data, expected);
  if (!rp_id) return rp_id.error();
  if (auto ok = CheckFlags(*auth_data, expected); !ok) return ok.error();

  Bytes signed_data;
  signed_data.reserve(response.authenticator_data.size() + 32);
  signed_data = response.authenticator_data;
  Bytes client_data_hash = Sha256(response.client_data_json);
  signed_data.insert(signed_data.end(), client_data_hash.begin(), client_data_hash.end());
  if (auto ok = credential.public_key.Verify(signed_data, response.signature); !ok) {
    return ok.error();
  }

  if ((auth_data->sign_count != 0 || credential.sign_count != 0) &&
      auth_data->sign_count <= credential.sign_count) {
    return Fail(Check::kSignCount, "signCount " + std::to_string(auth_data->sign_count) +
                                       " is not greater than the stored " +
                                       std::to_string(credential.sign_count) +
                                       " (cloned authenticator or replay)");
  }
  return VerifiedAssertion{
      .sign_count = auth_data->sign_count,
      .flags = auth_data->flags,
      .rp_id = std::move(*rp_id),
      .user_verified = auth_data->user_verified(),
  };
}

}  // namespace tpmauthn::webauthn
