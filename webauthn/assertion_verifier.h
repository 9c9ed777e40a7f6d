// Authentication ceremony verification — WebAuthn L3 §7.2. Pure: no I/O.
#pragma once

#include <optional>
#include <string>

#include "webauthn/ceremony.h"
#include "webauthn/cose_key.h"

namespace tpmauthn::webauthn {

struct AssertionResponse {
  CredentialEnvelope envelope;
  Bytes client_data_json;
  Bytes authenticator_data;
  Bytes signature;
  std::optional<Bytes> user_handle;  // absent or null in the JSON → nullopt
};

// The credential record the RP stored at registration (§7.1 step 27).
struct CredentialRecord {
  Bytes id;
  CoseKey public_key;
  uint32_t sign_count = 0;
};

struct AssertionExpectations : CeremonyExpectations {
  // When set, a userHandle in the response must equal it (§7.2 step 6).
  std::optional<Bytes> user_handle;
};

struct VerifiedAssertion {
  uint32_t sign_count = 0;  // the new value to store
  uint8_t flags = 0;
  std::string rp_id;
  bool user_verified = false;
};

// Runs §7.2: envelope (type, id == rawId == the record's id), userHandle,
// clientDataJSON (type "webauthn.get", challenge, origin,
// crossOrigin/topOrigin), authenticatorData (exact parse; no attested data),
// rpIdHash, UP, UV policy, BE/BS, the signature over authData ||
// SHA-256(clientDataJSON) with the record's key (ES256 DER only), and the
// sign counter: when either the stored or the new count is non-zero the new
// one must be greater.
//
// NOT checked here: authenticator extension outputs (tpmauthn requests none);
// that the record's BE flag matches the registration's (not stored); storing
// the new counter — the caller must persist `sign_count` before accepting.
Result<VerifiedAssertion> VerifyAssertion(const AssertionResponse& response,
                                          const CredentialRecord& credential,
                                          const AssertionExpectations& expected);

}  // namespace tpmauthn::webauthn
