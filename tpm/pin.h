// PIN → TPM authValue. authValue = HMAC-SHA256(key = per-credential random
// salt, message = "tpmauthn PIN v1" || PIN), with trailing zero bytes removed.
//
// Why salted: two credentials with the same PIN get unrelated authValues. Why
// a fast function: the TPM, not the KDF, bounds guessing — the authValue only
// ever travels inside an HMAC session salted to the SRK, the key blob on disk
// is encrypted under the SRK's seed, so nothing on disk allows an offline
// check of a guess; every guess costs a TPM authorization and counts towards
// the dictionary-attack lockout.
//
// Why trimmed: TPM 2.0 Part 1 §19.6.5 has the TPM drop trailing zero octets of
// an authValue before using it as an HMAC key. A value that is trimmed the
// same way on every path (Create's inSensitive and Esys_TR_SetAuth) behaves
// identically whatever the TSS does (systemd #28414 was a mismatch here).
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <span>

#include "webauthn/secret.h"

namespace tpmauthn::tpm {

using webauthn::SecretBytes;

inline constexpr size_t kPinSaltSize = 16;

// Fills `out` (wiped by the caller) from the PIN and salt, trimmed.
void DeriveAuthValue(const SecretBytes& pin, std::span<const uint8_t> salt, TPM2B_AUTH& out);

// Wipes a TPM2B_AUTH.
void WipeAuth(TPM2B_AUTH& auth);

}  // namespace tpmauthn::tpm
