// Checks shared by the registration and authentication ceremonies.
#include "webauthn/ceremony.h"

#include <algorithm>

#include "webauthn/base64url.h"

namespace tpmauthn::webauthn {

Result<CollectedClientData> CheckClientData(ByteView client_data_json,
                                            std::string_view expected_type,
                                            const CeremonyExpectations& expected) {
  auto parsed = CollectedClientData::Parse(client_data_json);
  if (!parsed) return parsed.error();
  const CollectedClientData& c = *parsed;
  if (c.type != expected_type) {
    return Fail(Check::kType, "clientDataJSON type is \"" + c.type + "\", expected \"" +
                                  std::string(expected_type) + "\"");
  }
  auto challenge = Base64UrlDecode(c.challenge);
  if (!challenge || !ConstantTimeEquals(*challenge, expected.challenge)) {
    return Fail(Check::kChallenge, "challenge mismatch");
  }
  if (std::find(expected.origins.begin(), expected.origins.end(), c.origin) ==
      expected.origins.end()) {
    return Fail(Check::kOrigin, "origin \"" + c.origin + "\" is not an expected origin");
  }
  if (c.cross_origin.value_or(false)) {
    if (!expected.allow_cross_origin) {
      return Fail(Check::kCrossOrigin, "crossOrigin is true but cross-origin use is not allowed");
    }
  }
  if (c.top_origin) {
    if (!c.cross_origin.value_or(false)) {
      return Fail(Check::kTopOrigin, "topOrigin present without crossOrigin");
    }
    if (std::find(expected.top_origins.begin(), expected.top_origins.end(), *c.top_origin) ==
        expected.top_origins.end()) {
      return Fail(Check::kTopOrigin, "topOrigin \"" + *c.top_origin + "\" is not expected");
    }
  }
  return parsed;
}

Result<std::string> CheckRpIdHash(const AuthenticatorData& auth_data,
                                  const CeremonyExpectations& expected) {
  for (const std::string& rp_id : expected.rp_ids) {
    if (ConstantTimeEquals(Sha256(AsBytes(rp_id)), auth_data.rp_id_hash)) return rp_id;
  }
  return Fail(Check::kRpIdHash, "rpIdHash mismatch");
}

Result<void> CheckFlags(const AuthenticatorData& auth_data, const CeremonyExpectations& expected) {
  if (expected.require_user_presence && !auth_data.user_present()) {
    return Fail(Check::kUserPresent, "user presence (UP) flag not set");
  }
  if (expected.require_user_verification && !auth_data.user_verified()) {
    return Fail(Check::kUserVerified, "user verification required but UV flag not set");
  }
  if (auth_data.backup_state() && !auth_data.backup_eligible()) {
    return Fail(Check::kBackupState, "backup state (BS) set without backup eligibility (BE)");
  }
  return {};
}

Result<void> CheckEnvelope(const CredentialEnvelope& envelope) {
  if (envelope.type != "public-key") {
    return Fail(Check::kResponse, "credential type is \"" + envelope.type + "\", not public-key");
  }
  if (envelope.id != Base64UrlEncode(envelope.raw_id)) {
    return Fail(Check::kCredentialId, "id is not base64url(rawId)");
  }
  return {};
}

}  // namespace tpmauthn::webauthn
