// The TPM's endorsement key (EK) and its certificate, as the TCG EK
// Credential Profile for TPM 2.0 places them (§2.2.1.4 low-range NV indices,
// §2.2.1.5 / TCG Provisioning Guidance persistent handles), and the policy
// session that authorizes the EK (its userWithAuth is clear): PolicySecret on
// the endorsement hierarchy, whose authorization is empty on a TPM that was
// not provisioned otherwise.
//
// Two EKs are used, both from the low-range templates whose policy is PolicyA
// (PolicySecret alone): RSA 2048 (template L-1, persistent at 0x81010001,
// certificate at NV 0x01c00002) and NIST P-256 (template L-2, 0x81010002,
// certificate at NV 0x01c0000a), for TPMs whose maker certified only that
// one. The high-range templates (swtpm's P-384 EK at 0x81010016) need a
// PolicyOR this code does not build.
#pragma once

#include <tss2/tss2_esys.h>

#include "tpm/connection.h"
#include "tpm/tpm_error.h"
#include "webauthn/bytes.h"

namespace tpmauthn::tpm {

inline constexpr TPM2_HANDLE kRsaEkCertificateIndex = 0x01c00002;
inline constexpr TPM2_HANDLE kRsaEkHandle = 0x81010001;
inline constexpr TPM2_HANDLE kEccEkCertificateIndex = 0x01c0000a;
inline constexpr TPM2_HANDLE kEccEkHandle = 0x81010002;

enum class EkKind { kRsa, kEcc };
TPM2_HANDLE EkCertificateIndex(EkKind kind);
TPM2_HANDLE EkHandle(EkKind kind);
const char* EkKindName(EkKind kind);  // "rsa", "ecc"

struct EndorsementKey {
  ESYS_TR handle = ESYS_TR_NONE;  // persistent: close with Esys_TR_Close, never flush
  TPM2B_PUBLIC public_area{};
};

// The DER certificate in NV index `index` (read in chunks of at most
// TPM2_PT_NV_BUFFER_MAX with the index's own empty authorization; trailing
// vendor padding after the DER is dropped). kRefused when there is none.
TpmResult<webauthn::Bytes> ReadEkCertificate(ESYS_CONTEXT* esys,
                                             TPM2_HANDLE index = kRsaEkCertificateIndex);

// The persistent EK of `kind`, checked to be a restricted decryption key
// fixed to the TPM with nameAlg SHA-256 (and, for ECC, on NIST P-256).
TpmResult<EndorsementKey> OpenEndorsementKey(ESYS_CONTEXT* esys, EkKind kind = EkKind::kRsa);

// A policy session satisfying the EK's PolicyA: PolicySecret(TPM_RH_ENDORSEMENT).
// A policy digest lasts one command: start a new one for each use.
TpmResult<TransientHandle> StartEkPolicySession(ESYS_CONTEXT* esys);

// TPM2_PT_MANUFACTURER, TPM2_PT_VENDOR_STRING_1..4 and
// TPM2_PT_FIRMWARE_VERSION_1, as the TCG SAN of an AIK certificate names
// them: "id:XXXXXXXX", the vendor string, "id:XXXXXXXX".
struct TpmIdentity {
  std::string manufacturer;
  std::string model;
  std::string version;
};
TpmResult<TpmIdentity> ReadTpmIdentity(ESYS_CONTEXT* esys);

}  // namespace tpmauthn::tpm
