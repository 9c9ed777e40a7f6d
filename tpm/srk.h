// The storage root key tpmauthn keys live under: the persistent key at
// 0x81000001. If absent it is created from the TCG ECC P-256 SRK template and
// made persistent (needs an empty owner authorization; otherwise provision it
// with tpm2_createprimary + tpm2_evictcontrol). An RSA storage key already at
// 0x81000001 (the older TCG default) is used as it is: ESAPI salts sessions
// with RSA-OAEP instead of ECDH. Anything that is not a restricted decryption
// key with fixedTPM|fixedParent is refused.
//
// The SRK's name (a hash of its public area) is recorded with each credential
// and compared before use: a different name means another TPM, a cleared TPM
// or a key swapped in to receive session salts, and the credential is refused.
#pragma once

#include <tss2/tss2_esys.h>

#include "tpm/connection.h"
#include "tpm/tpm_error.h"
#include "webauthn/bytes.h"

namespace tpmauthn::tpm {

inline constexpr TPM2_HANDLE kSrkHandle = 0x81000001;

struct Srk {
  ESYS_TR handle = ESYS_TR_NONE;  // persistent: not flushed, closed with the context
  webauthn::Bytes name;
  bool ecc = true;
};

// Finds the SRK and checks it is a storage key; creates and persists it if
// missing and `create` is set. For enrollment.
TpmResult<Srk> LoadSrk(ESYS_CONTEXT* esys, bool create);

// The SRK for use (one TPM2_ReadPublic), refused unless its name is
// `expected_name`.
TpmResult<Srk> LoadSrkChecked(ESYS_CONTEXT* esys, webauthn::ByteView expected_name);

// A salted, unbound HMAC session (AES-128-CFB parameter encryption available)
// whose salt is encrypted to the SRK, so authValues used in it cannot be
// recovered from a bus trace.
TpmResult<TransientHandle> StartSaltedSession(ESYS_CONTEXT* esys, const Srk& srk,
                                              TPM2_SE type = TPM2_SE_HMAC);

}  // namespace tpmauthn::tpm
