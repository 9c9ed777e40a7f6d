// WebAuthn L3 §7.1 "Registering a New Credential".
#include "webauthn/registration_verifier.h"

#include <algorithm>

#include "webauthn/cbor.h"

namespace tpmauthn::webauthn {

Result<VerifiedRegistration> VerifyRegistration(const RegistrationResponse& response,
                                                const RegistrationExpectations& expected) {
  if (auto ok = CheckEnvelope(response.envelope); !ok) return ok.error();
  auto client_data = CheckClientData(response.client_data_json, kTypeCreate, expected);
  if (!client_data) return client_data.error();
  const Bytes client_data_hash = Sha256(response.client_data_json);

  auto object = AttestationObject::Parse(response.attestation_object);
  if (!object) return object.error();
  const AuthenticatorData& auth_data = object->auth_data;

  auto rp_id = CheckRpIdHash(auth_data, expected);
  if (!rp_id) return rp_id.error();
  if (auto ok = CheckFlags(auth_data, expected); !ok) return ok.error();
  if (!auth_data.attested) {
    return Fail(Check::kAuthenticatorData, "authenticatorData: no attested credential data (AT)");
  }
  const AttestedCredentialData& acd = *auth_data.attested;
  if (!ConstantTimeEquals(acd.credential_id, response.envelope.raw_id)) {
    return Fail(Check::kCredentialId, "rawId differs from the attested credentialId");
  }

  // Step 19: the algorithm must be one the RP asked for, before trusting the key.
  auto key_item = cbor::DecodeExact(acd.public_key, Check::kPublicKey, "COSE_Key");
  if (!key_item) return key_item.error();
  auto alg = cbor::AsInt(cbor::Find(key_item->get(), int64_t{3}));
  if (!alg) return Fail(Check::kPublicKey, "COSE_Key: missing alg");
  bool allowed = std::any_of(expected.allowed_algorithms.begin(), expected.allowed_algorithms.end(),
                             [&](CoseAlgorithm a) { return static_cast<int64_t>(a) == *alg; });
  if (!allowed) {
    return Fail(Check::kAlgorithm, "credential algorithm " + std::to_string(*alg) + " not allowed");
  }
  auto key = CoseKey::Parse(acd.public_key);
  if (!key) return key.error();

  auto attestation =
      VerifyAttestationStatement(*object, client_data_hash, *key, &expected.attestation_trust);
  if (!attestation) return attestation.error();

  return VerifiedRegistration{
      .credential_id = acd.credential_id,
      .public_key = std::move(*key),
      .sign_count = auth_data.sign_count,
      .flags = auth_data.flags,
      .aaguid = acd.aaguid,
      .fmt = object->fmt,
      .attestation_type = attestation->type,
      .attestation_trusted = attestation->trusted,
      .attestation_untrusted_because = std::move(attestation->untrusted_because),
      .tpm_device = std::move(attestation->tpm_device),
      .key_fixed_to_tpm = attestation->key_fixed_to_tpm,
      .rp_id = std::move(*rp_id),
      .origin = client_data->origin,
  };
}

}  // namespace tpmauthn::webauthn
