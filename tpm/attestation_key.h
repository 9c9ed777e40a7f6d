// The attestation key (AK): a restricted RSA 2048 signing key
// (RSASSA-SHA256) made as a child of an EK (RSA or ECC, tpm/endorsement.h),
// as tpm2_createak makes it,
// and kept as a TPM-wrapped blob. Restricted: the TPM signs with it only
// digests it computed itself (TPM2_Certify's TPMS_ATTEST, never an outside
// digest that could start with TPM_GENERATED_VALUE). Being the EK's child
// with fixedTPM lets a CA prove, with TPM2_MakeCredential /
// TPM2_ActivateCredential, that the AK lives in the TPM whose EK certificate
// it was shown (TPM 2.0 Part 1 §24, Part 3 §12.5 ActivateCredential,
// §18.2 Certify).
//
// Attributes: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|
// restricted|sign|noDA, empty authValue, no policy.
#pragma once

#include <tss2/tss2_esys.h>

#include <optional>
#include <string>
#include <vector>

#include "tpm/connection.h"
#include "tpm/endorsement.h"
#include "tpm/key_store.h"
#include "tpm/tpm_error.h"
#include "webauthn/bytes.h"
#include "webauthn/secret.h"

namespace tpmauthn::tpm {

struct AttestationKeyBlob {
  webauthn::Bytes public_blob;   // marshalled TPM2B_PUBLIC
  webauthn::Bytes private_blob;  // marshalled TPM2B_PRIVATE (wrapped by the EK)
  EkKind ek = EkKind::kRsa;      // its parent, the EK the CA sealed to
};

// The AK and, once the attestation CA's answer is installed, its
// certificate chain (AIK certificate first, without the CA's root), in the
// key store's "attestation.json" (0600):
//   {"format": "tpmauthn-attestation-key", "version": 1, "ek": "rsa"|"ecc",
//    "public", "private", "chain": [base64url DER, ...]}
// ("ek" absent: "rsa", as files from before ECC EKs were used say nothing).
struct AttestationKeyRecord {
  AttestationKeyBlob blob;
  std::vector<webauthn::Bytes> chain;
};
inline constexpr const char* kAttestationKeyFile = "attestation.json";
// nullopt when there is none yet.
TpmResult<std::optional<AttestationKeyRecord>> LoadAttestationKeyRecord(const KeyStore& store);
TpmResult<AttestationKeyRecord> ParseAttestationKeyRecord(std::string_view json);
std::string SerializeAttestationKeyRecord(const AttestationKeyRecord& record);
TpmResult<void> SaveAttestationKeyRecord(const KeyStore& store, const AttestationKeyRecord& record);

// Makes a new AK under the EK of `ek`.
TpmResult<AttestationKeyBlob> CreateAttestationKey(ESYS_CONTEXT* esys, EkKind ek = EkKind::kRsa);

// The AK's Name: nameAlg ‖ SHA-256(TPMT_PUBLIC).
TpmResult<webauthn::Bytes> AttestationKeyName(const AttestationKeyBlob& blob);

// Loads the AK under its EK (flushed when the handle goes).
TpmResult<TransientHandle> LoadAttestationKey(ESYS_CONTEXT* esys, const AttestationKeyBlob& blob);

// TPM2_ActivateCredential: the credential a CA sealed to this TPM's EK and
// this AK's Name. `id_object` and `encrypted_secret` are the marshalled
// TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET. kRefused with the TPM's reason
// when they were made for another EK or AK (TPM_RC_INTEGRITY).
TpmResult<webauthn::SecretBytes> ActivateCredential(ESYS_CONTEXT* esys,
                                                    const AttestationKeyBlob& blob,
                                                    webauthn::ByteView id_object,
                                                    webauthn::ByteView encrypted_secret);

// TPM2_Certify of the loaded `object` (its ADMIN role authorized through
// `object_session`) by the loaded AK, with `qualifying_data` as extraData.
struct Certification {
  webauthn::Bytes cert_info;  // the TPMS_ATTEST, without its TPM2B size
  webauthn::Bytes signature;  // RSASSA-PKCS1-v1_5 SHA-256 signature bytes
};
TpmResult<Certification> Certify(ESYS_CONTEXT* esys, ESYS_TR ak, ESYS_TR object,
                                 ESYS_TR object_session, webauthn::ByteView qualifying_data);

}  // namespace tpmauthn::tpm
