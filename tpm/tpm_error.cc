// TSS2_RC classification and decoding.
#include "tpm/tpm_error.h"

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tpm2_types.h>

namespace tpmauthn::tpm {

TSS2_RC BaseRc(TSS2_RC rc) {
  if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER) return rc;
  if (rc & TPM2_RC_FMT1) return rc & (TPM2_RC_FMT1 | 0x3f);
  return rc & 0xfff;
}

TpmError FromRc(TSS2_RC rc, const char* operation) {
  std::string message = std::string(operation) + ": " + Tss2_RC_Decode(rc);
  TpmErrorKind kind = TpmErrorKind::kRefused;
  const TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  const TSS2_RC base = BaseRc(rc);
  const TSS2_RC generic = rc & 0xffff;  // TSS2_BASE_RC_* for the software layers
  if (layer == TSS2_TCTI_RC_LAYER ||
      (layer != TSS2_TPM_RC_LAYER &&
       (generic == TSS2_BASE_RC_IO_ERROR || generic == TSS2_BASE_RC_NO_CONNECTION ||
        generic == TSS2_BASE_RC_TRY_AGAIN || generic == TSS2_BASE_RC_MALFORMED_RESPONSE ||
        // ESAPI refuses every call once a command's transport failed mid-way.
        generic == TSS2_BASE_RC_BAD_SEQUENCE))) {
    kind = TpmErrorKind::kUnavailable;
  } else if (layer == TSS2_TPM_RC_LAYER) {
    switch (base) {
      case TPM2_RC_LOCKOUT:
        kind = TpmErrorKind::kLockout;
        break;
      case TPM2_RC_AUTH_FAIL:
      case TPM2_RC_BAD_AUTH:
        kind = TpmErrorKind::kWrongPin;
        break;
      case TPM2_RC_POLICY_FAIL:
      case TPM2_RC_PCR_CHANGED:
        kind = TpmErrorKind::kPolicy;
        break;
      case TPM2_RC_INTEGRITY:
        kind = TpmErrorKind::kWrongTpm;  // a blob sealed by another SRK
        break;
      // Transient: other clients hold the TPM's few object or session slots
      // (no resource manager), or the TPM asks to be asked again.
      case TPM2_RC_OBJECT_MEMORY:
      case TPM2_RC_SESSION_MEMORY:
      case TPM2_RC_MEMORY:
      case TPM2_RC_RETRY:
      case TPM2_RC_YIELDED:
      case TPM2_RC_TESTING:
        kind = TpmErrorKind::kBusy;
        break;
      case TPM2_RC_INITIALIZE:
      case TPM2_RC_FAILURE:
        kind = TpmErrorKind::kUnavailable;
        break;
      default:
        break;
    }
  }
  return TpmError{kind, std::move(message), std::nullopt, std::nullopt, rc, false};
}

}  // namespace tpmauthn::tpm
