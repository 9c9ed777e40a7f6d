// The WebAuthn L3 JSON forms of credentials (§5.1, PublicKeyCredential.toJSON()):
// RegistrationResponseJSON and AuthenticationResponseJSON.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>
#include <vector>

#include "webauthn/assertion_verifier.h"
#include "webauthn/registration_verifier.h"

namespace tpmauthn::webauthn {

// Reads id, rawId, type and response.{clientDataJSON, attestationObject}.
// Other members (authenticatorData, publicKey, transports...) are conveniences
// the spec tells RPs not to rely on, and are ignored. Missing or mistyped
// members fail with Check::kResponse; bad base64url with Check::kEncoding.
Result<RegistrationResponse> ParseRegistrationResponseJson(const nlohmann::json& json);

// Reads id, rawId, type and response.{clientDataJSON, authenticatorData,
// signature, userHandle (optional, may be null)}.
Result<AssertionResponse> ParseAuthenticationResponseJson(const nlohmann::json& json);

// RegistrationResponseJSON with every member L3 defines, the derived ones
// (authenticatorData, publicKey as SPKI DER, publicKeyAlgorithm) computed from
// the attestationObject. Fails if the attestationObject does not parse.
Result<nlohmann::json> RegistrationResponseToJson(const RegistrationResponse& response,
                                                  std::string_view attachment,
                                                  const std::vector<std::string>& transports);

nlohmann::json AuthenticationResponseToJson(const AssertionResponse& response,
                                            std::string_view attachment);

}  // namespace tpmauthn::webauthn
