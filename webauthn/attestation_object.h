// attestationObject (WebAuthn L3 §6.5) and the attestation statement formats
// tpmauthn accepts: "none" (§8.7) and "packed" (§8.2, self and x5c).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "webauthn/authenticator_data.h"
#include "webauthn/bytes.h"
#include "webauthn/cose_key.h"
#include "webauthn/result.h"

namespace tpmauthn::webauthn {

inline constexpr size_t kMaxAttestationObjectSize = 64 * 1024;

enum class AttestationType {
  kNone,   // fmt "none"
  kSelf,   // packed, signed by the credential key itself
  kBasic,  // packed with x5c: Basic or AttCA (whether the chain is trusted: `trusted`)
};

std::string_view ToString(AttestationType type);

struct AttestationObject {
  std::string fmt;           // "none" or "packed"
  Bytes auth_data_bytes;     // authData exactly as signed
  AuthenticatorData auth_data;
  // packed attStmt
  int64_t alg = 0;
  Bytes sig;
  std::vector<Bytes> x5c;    // DER certificates, attestnCert first

  // Parses the CBOR map {fmt, attStmt, authData}: exactly those members, no
  // trailing bytes, at most kMaxAttestationObjectSize; fmt "none" needs an
  // empty attStmt, "packed" needs alg and sig (x5c optional; ecdaaKeyId is
  // rejected); other formats are errors. authData is parsed as well. Errors
  // carry Check::kAttestationObject (or kAuthenticatorData for authData).
  static Result<AttestationObject> Parse(ByteView data);

  // Encoders, in CTAP2 canonical CBOR member order.
  static Bytes EncodeNone(ByteView auth_data);
  static Bytes EncodePackedSelf(ByteView auth_data, CoseAlgorithm alg, ByteView sig);
  // packed with an x5c chain (attestnCert first).
  static Bytes EncodePacked(ByteView auth_data, CoseAlgorithm alg, ByteView sig,
                            const std::vector<Bytes>& x5c);
};

struct VerifiedAttestation {
  AttestationType type = AttestationType::kNone;
  std::vector<Bytes> trust_path;  // x5c for kBasic
  // The chain ends at a trust anchor the caller gave. Always false for now:
  // tpmauthn takes no attestation trust anchors yet, so a kBasic verdict
  // proves only that the certificates are well-formed and each is signed by
  // the next (the last by itself when self-signed) — anyone can make such a
  // chain.
  bool trusted = false;
};

// The format's verification procedure (§8.2 / §8.7) given the parsed object,
// SHA-256(clientDataJSON) and the credential public key from authData.
// For packed x5c it checks the signature with attestnCert's key, the §8.2.1
// certificate requirements (v3; subject C, O, OU "Authenticator Attestation",
// CN; basic constraints CA false; id-fido-gen-ce-aaguid, if present,
// non-critical and equal to the AAGUID), that each certificate is signed by
// the next, and that the last, when self-signed, is signed by itself. It does
// NOT decide whether the chain ends at a trusted root (`trusted` stays false:
// tpmauthn has no attestation trust store yet).
// Errors carry Check::kAttestationStatement.
Result<VerifiedAttestation> VerifyAttestationStatement(const AttestationObject& object,
                                                       ByteView client_data_hash,
                                                       const CoseKey& credential_key);

}  // namespace tpmauthn::webauthn
