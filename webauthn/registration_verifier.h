// Registration ceremony verification — WebAuthn L3 §7.1. Pure: no I/O.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "webauthn/attestation_object.h"
#include "webauthn/ceremony.h"
#include "webauthn/cose_key.h"

namespace tpmauthn::webauthn {

struct RegistrationResponse {
  CredentialEnvelope envelope;
  Bytes client_data_json;
  Bytes attestation_object;
};

struct RegistrationExpectations : CeremonyExpectations {
  // pubKeyCredParams: algorithms the RP asked for.
  std::vector<CoseAlgorithm> allowed_algorithms = {CoseAlgorithm::kES256, CoseAlgorithm::kEdDSA,
                                                   CoseAlgorithm::kRS256};
  // Attestation trust anchors (steps 23-24); none: no chain is "trusted".
  AttestationTrust attestation_trust;
};

struct VerifiedRegistration {
  Bytes credential_id;
  CoseKey public_key;
  uint32_t sign_count = 0;
  uint8_t flags = 0;
  std::array<uint8_t, 16> aaguid{};
  std::string fmt;
  AttestationType attestation_type = AttestationType::kNone;
  bool attestation_trusted = false;  // see VerifiedAttestation::trusted
  std::string attestation_untrusted_because;
  std::optional<TpmDevice> tpm_device;  // fmt "tpm": the AIK certificate's TPM
  bool key_fixed_to_tpm = false;        // fmt "tpm": fixedTPM|fixedParent|sensitiveDataOrigin
  std::string rp_id;   // the expected RP ID whose hash matched
  std::string origin;  // C.origin
};

// Runs §7.1: envelope (type, id == rawId), clientDataJSON (type
// "webauthn.create", challenge, origin, crossOrigin/topOrigin), attestationObject
// (rpIdHash, UP, UV policy, BE/BS, attested credential data present, rawId ==
// credentialId, alg allowed, COSE key valid, attestation statement verified).
//
// NOT checked here — the caller's job: that the credential id is not already
// registered (step 26), whether the attestation is good enough (step 24:
// `attestation_trusted` says whether x5c ends at one of
// `attestation_trust.anchors`; policy is the caller's), authenticator
// extension outputs (step 20; tpmauthn requests none and ignores any).
Result<VerifiedRegistration> VerifyRegistration(const RegistrationResponse& response,
                                                const RegistrationExpectations& expected);

}  // namespace tpmauthn::webauthn
