// What a relying party expects of a ceremony, and the checks §7.1 and §7.2
// share (client data, rpIdHash, flags).
#pragma once

#include <string>
#include <vector>

#include "webauthn/authenticator_data.h"
#include "webauthn/bytes.h"
#include "webauthn/client_data.h"
#include "webauthn/result.h"

namespace tpmauthn::webauthn {

struct CeremonyExpectations {
  Bytes challenge;                       // the exact bytes the RP generated
  std::vector<std::string> origins;      // C.origin must equal one of these
  std::vector<std::string> rp_ids;       // rpIdHash must be SHA-256 of one of these
  bool require_user_verification = true;
  bool require_user_presence = true;
  // crossOrigin: true is refused unless allowed; then C.topOrigin, if present,
  // must be one of top_origins.
  bool allow_cross_origin = false;
  std::vector<std::string> top_origins;
};

// The id/rawId/type members of a PublicKeyCredential (§5.1).
struct CredentialEnvelope {
  std::string id;      // base64url text as sent
  Bytes raw_id;
  std::string type;    // must be "public-key"
};

// §7.1 steps 5-10 / §7.2 steps 10-15 on clientDataJSON: parse, then type,
// challenge (constant time), origin, crossOrigin and topOrigin.
Result<CollectedClientData> CheckClientData(ByteView client_data_json,
                                            std::string_view expected_type,
                                            const CeremonyExpectations& expected);

// rpIdHash against every expected RP ID; returns the RP ID that matched.
Result<std::string> CheckRpIdHash(const AuthenticatorData& auth_data,
                                  const CeremonyExpectations& expected);

// UP, UV policy, and "BS only with BE".
Result<void> CheckFlags(const AuthenticatorData& auth_data, const CeremonyExpectations& expected);

// type == "public-key" and id == base64url(rawId).
Result<void> CheckEnvelope(const CredentialEnvelope& envelope);

}  // namespace tpmauthn::webauthn
