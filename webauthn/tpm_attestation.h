// The "tpm" attestation statement format (WebAuthn L3 §8.3). Pure: no I/O.
// The TPM structures (TPMT_PUBLIC, TPMS_ATTEST) are read with tpm2-tss MU,
// which only (un)marshals bytes; nothing here talks to a TPM.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "webauthn/authenticator_data.h"
#include "webauthn/bytes.h"
#include "webauthn/cose_key.h"
#include "webauthn/result.h"

typedef struct cbor_item_t cbor_item_t;

namespace tpmauthn::webauthn {

// Each rule of §8.3's verification procedure and of §8.3.1's AIK certificate
// requirements. An error names its rule: "attStmt: tpm <rule>: <why>", with
// <rule> from ToString below, so a verdict says which rule a statement broke.
enum class TpmRule {
  kVersion,          // ver is "2.0"
  kAlgorithm,        // alg is one tpmauthn verifies (RS256, ES256)
  kPubArea,          // pubArea is one whole TPMT_PUBLIC
  kPubAreaKey,       // pubArea's parameters and unique are the credential public key
  kCertInfo,         // certInfo is one whole TPMS_ATTEST
  kMagic,            // certInfo.magic is TPM_GENERATED_VALUE
  kAttestType,       // certInfo.type is TPM_ST_ATTEST_CERTIFY
  kExtraData,        // certInfo.extraData is hash(authData ‖ clientDataHash) under alg's hash
  kAttestedName,     // certInfo.attested.name is nameAlg ‖ H_nameAlg(pubArea)
  kSignature,        // sig verifies over certInfo with the AIK certificate's key
  kCertVersion,      // AIK certificate is X.509 v3
  kCertSubject,      // AIK certificate subject is empty
  kCertSan,          // SAN (critical) holds TPM manufacturer, model and version
  kCertEku,          // EKU holds tcg-kp-AIKCertificate (2.23.133.8.3)
  kCertCa,           // basic constraints cA is false
  kCertAaguid,       // id-fido-gen-ce-aaguid, if present, is non-critical and the AAGUID
  kChain,            // each x5c certificate is signed by the next
  kTrustAnchor,      // the chain ends at one of the caller's trust anchors
};

std::string_view ToString(TpmRule rule);

// attStmt of fmt "tpm" (the members other than alg, sig and x5c).
struct TpmStatement {
  std::string ver;
  Bytes cert_info;  // TPMS_ATTEST, as signed
  Bytes pub_area;   // TPMT_PUBLIC of the credential key
};

// What the AIK certificate says about the TPM (TCG EK profile §3.2.9).
struct TpmDevice {
  std::string manufacturer;  // "id:49424D00"
  std::string model;
  std::string version;       // "id:..." firmware version
};

// Trust for attestation chains: DER certificates the relying party trusts
// (a root, or an intermediate it trusts as such) and the time to check at
// (now when unset).
struct AttestationTrust {
  std::vector<Bytes> anchors;
  std::optional<std::time_t> at;
};

struct VerifiedTpmAttestation {
  std::vector<Bytes> trust_path;  // x5c
  bool trusted = false;           // the chain ends at one of AttestationTrust::anchors
  std::string untrusted_because;  // anchors were given, and this is why it does not
  TpmDevice device;
  // pubArea's objectAttributes has fixedTPM, fixedParent and
  // sensitiveDataOrigin: the TPM made the key and it can never leave that TPM.
  // §8.3 does not look at this; a policy that wants "the key lives in a TPM"
  // must (a TPM certifies an imported or duplicable key all the same).
  bool key_fixed_to_tpm = false;
};

// Reads the members of a "tpm" attStmt map: exactly ver, alg, x5c (non-empty),
// sig, certInfo and pubArea; ecdaaKeyId is refused (removed from L3). Errors
// carry Check::kAttestationObject.
Result<void> ParseTpmStatement(const cbor_item_t* stmt, TpmStatement& out, int64_t& alg,
                               Bytes& sig, std::vector<Bytes>& x5c);

// §8.3's verification procedure, then §8.3.1 on the AIK certificate and, when
// `trust` has anchors, validation of x5c up to one of them. Errors carry
// Check::kAttestationStatement and name their TpmRule.
Result<VerifiedTpmAttestation> VerifyTpmStatement(const TpmStatement& statement, int64_t alg,
                                                  ByteView sig, const std::vector<Bytes>& x5c,
                                                  ByteView auth_data_bytes,
                                                  const AuthenticatorData& auth_data,
                                                  ByteView client_data_hash,
                                                  const CoseKey& credential_key,
                                                  const AttestationTrust* trust);

// The TPM Name of a TPMT_PUBLIC: nameAlg (2 bytes) ‖ H_nameAlg(pubArea).
// Empty when nameAlg is not SHA-1/256/384/512.
Bytes TpmName(ByteView pub_area);

}  // namespace tpmauthn::webauthn
