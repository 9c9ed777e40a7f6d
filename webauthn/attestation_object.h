// attestationObject (WebAuthn L3 §6.5) and the attestation statement formats
// tpmauthn accepts: "none" (§8.7), "packed" (§8.2, self and x5c) and "tpm"
// (§8.3, tpm_attestation.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "webauthn/authenticator_data.h"
#include "webauthn/bytes.h"
#include "webauthn/cose_key.h"
#include "webauthn/result.h"
#include "webauthn/tpm_attestation.h"

namespace tpmauthn::webauthn {

inline constexpr size_t kMaxAttestationObjectSize = 64 * 1024;

enum class AttestationType {
  kNone,   // fmt "none"
  kSelf,   // packed, signed by the credential key itself
  kBasic,  // packed with x5c: Basic or AttCA (whether the chain is trusted: `trusted`)
  kAttCa,  // tpm: an AIK certificate chain (whether it is trusted: `trusted`)
};

std::string_view ToString(AttestationType type);

struct AttestationObject {
  std::string fmt;           // "none", "packed" or "tpm"
  Bytes auth_data_bytes;     // authData exactly as signed
  AuthenticatorData auth_data;
  // packed and tpm attStmt
  int64_t alg = 0;
  Bytes sig;
  std::vector<Bytes> x5c;    // DER certificates, attestnCert (tpm: aikCert) first
  TpmStatement tpm;          // the rest of a tpm attStmt

  // Parses the CBOR map {fmt, attStmt, authData}: exactly those members, no
  // trailing bytes, at most kMaxAttestationObjectSize; fmt "none" needs an
  // empty attStmt, "packed" needs alg and sig (x5c optional; ecdaaKeyId is
  // rejected), "tpm" ver, alg, x5c, sig, certInfo and pubArea; other formats
  // are errors. authData is parsed as well. Errors
  // carry Check::kAttestationObject (or kAuthenticatorData for authData).
  static Result<AttestationObject> Parse(ByteView data);

  // Encoders, in CTAP2 canonical CBOR member order.
  static Bytes EncodeNone(ByteView auth_data);
  static Bytes EncodePackedSelf(ByteView auth_data, CoseAlgorithm alg, ByteView sig);
  // packed with an x5c chain (attestnCert first).
  static Bytes EncodePacked(ByteView auth_data, CoseAlgorithm alg, ByteView sig,
                            const std::vector<Bytes>& x5c);
  // tpm: ver "2.0", the AIK chain (aikCert first, the trust anchor left out).
  static Bytes EncodeTpm(ByteView auth_data, CoseAlgorithm alg, ByteView sig,
                         const std::vector<Bytes>& x5c, ByteView cert_info, ByteView pub_area);
};

struct VerifiedAttestation {
  AttestationType type = AttestationType::kNone;
  std::vector<Bytes> trust_path;  // x5c for kBasic and kAttCa
  // The chain ends at one of the trust anchors the caller gave (never without
  // anchors: a chain that is merely well-formed proves nothing, anyone can
  // make one). When anchors were given and it does not: why.
  bool trusted = false;
  std::string untrusted_because;
  // kAttCa: what the AIK certificate says about the TPM, and whether pubArea
  // says the key was made by that TPM and can never leave it.
  std::optional<TpmDevice> tpm_device;
  bool key_fixed_to_tpm = false;
};

// The format's verification procedure (§8.2 / §8.3 / §8.7) given the parsed
// object, SHA-256(clientDataJSON) and the credential public key from authData.
// For packed x5c it checks the signature with attestnCert's key, the §8.2.1
// certificate requirements (v3; subject C, O, OU "Authenticator Attestation",
// CN; basic constraints CA false; id-fido-gen-ce-aaguid, if present,
// non-critical and equal to the AAGUID), that each certificate is signed by
// the next, and that the last, when self-signed, is signed by itself; tpm:
// VerifyTpmStatement. With `trust` anchors, x5c is validated up to one of
// them (`trusted`); an untrusted chain is not an error here — the relying
// party's policy decides (§7.1 step 24).
// Errors carry Check::kAttestationStatement.
Result<VerifiedAttestation> VerifyAttestationStatement(const AttestationObject& object,
                                                       ByteView client_data_hash,
                                                       const CoseKey& credential_key,
                                                       const AttestationTrust* trust = nullptr);

}  // namespace tpmauthn::webauthn
