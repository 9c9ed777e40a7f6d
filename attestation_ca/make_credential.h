// TPM2_MakeCredential computed by the CA in software (TPM 2.0 Part 1 §24
// "Credential Protection", Part 3 §12.6; Part 1 §11.4.9-10 KDFa, §24.4-5):
// seals `credential` so that only the TPM holding the EK whose public area is
// `ek` gives it back, through TPM2_ActivateCredential, and only for the
// loaded object whose Name is `object_name` (the attestation key).
//
// seed (32 bytes, the EK's nameAlg SHA-256) and the encrypted secret:
// - RSA EK: a random seed, RSA-OAEP-encrypted to the EK with label
//   "IDENTITY\0" (Part 1 §B.10.3);
// - ECC EK (NIST P-256, the TCG EK Credential Profile's template L-2): an
//   ephemeral key QeU, Z = x(ECDH(QeU, EK)), seed = KDFe(SHA-256, Z,
//   "IDENTITY", x(QeU), x(EK), 256); the secret is QeU as a TPMS_ECC_POINT
//   (Part 1 §C.6.4).
// Then symKey =
// KDFa(SHA-256, seed, "STORAGE", Name, ∅, EK symmetric keyBits); hmacKey =
// KDFa(SHA-256, seed, "INTEGRITY", ∅, ∅, 256); encIdentity =
// AES-CFB(symKey, IV 0)(BE16(size) ‖ credential); outerHMAC =
// HMAC-SHA-256(hmacKey, encIdentity ‖ Name); the ID object is
// BE16(32) ‖ outerHMAC ‖ encIdentity, as a TPM2B.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include "attestation_ca/ca_error.h"
#include "webauthn/bytes.h"
#include "webauthn/openssl_ptr.h"

namespace tpmauthn::attestation_ca {

struct SealedCredential {
  webauthn::Bytes id_object;         // marshalled TPM2B_ID_OBJECT
  webauthn::Bytes encrypted_secret;  // marshalled TPM2B_ENCRYPTED_SECRET
};

// `ek` must be an RSA or NIST P-256 key with nameAlg SHA-256 and
// AES-128/256-CFB symmetric parameters; `credential` 1-32 bytes.
CaResult<SealedCredential> MakeCredential(const TPMT_PUBLIC& ek, webauthn::ByteView object_name,
                                          webauthn::ByteView credential);

// The RSA public key of a TPMT_PUBLIC (exponent 0 meaning 65537).
CaResult<webauthn::EvpPkeyPtr> RsaPublicKey(const TPMT_PUBLIC& area);

// KDFa with SHA-256 (TPM 2.0 Part 1 §11.4.10.2), through OpenSSL's KBKDF in
// counter mode: `bits` of HMAC-SHA-256(key, BE32(i) ‖ label ‖ 00 ‖
// context_u ‖ context_v ‖ BE32(bits)).
CaResult<webauthn::Bytes> KdfaSha256(webauthn::ByteView key, std::string_view label,
                                     webauthn::ByteView context_u, webauthn::ByteView context_v,
                                     size_t bits);

}  // namespace tpmauthn::attestation_ca
