// A credential's own PIN retry counter: an NV index of type TPM_NT_PIN_FAIL
// (TPM 2.0 Part 2 §13.4, Part 3 §31.3; Part 1 §37.3.4). The index's authValue
// is the credential's PIN-derived authValue (tpm/pin.h); the credential key's
// authPolicy is PolicySecret(this index), so only the PIN, proven to the
// index, lets the key sign. A wrong PIN raises the index's pinCount — never
// the TPM's dictionary-attack counter (TPMA_NV_NO_DA, required for this
// type) — and once pinCount reaches pinLimit the TPM refuses even the right
// PIN (TPM_RC_AUTH_UNAVAILABLE). The right PIN sets pinCount back to 0.
//
// Nobody lowers a count except with the right PIN: the index is written
// exactly once, right after it is defined (authPolicy PolicyCommandCode(
// NV_Write) ∧ PolicyNvWritten(NO), TPMA_NV_POLICYWRITE, no OWNERWRITE or
// AUTHWRITE). The owner can only delete it; defining it again at the same
// handle with the same attributes and policy gives the same Name — so the
// same key works — but with a new PIN (reset): the old PIN is gone.
//
// Handles: kPinIndexFirst .. + kPinIndexSpan, inside the TCG registry's
// owner range (0x01000000-0x013FFFFF). A definition starts at a random
// handle there and steps to the next on TPM_RC_NV_DEFINED, so concurrent
// enrollments never share one and an index someone else owns is never
// touched. The handle and the Name are recorded in the key store.
#pragma once

#include <tss2/tss2_esys.h>

#include <cstdint>

#include "tpm/connection.h"
#include "tpm/srk.h"
#include "tpm/tpm_error.h"
#include "webauthn/bytes.h"

namespace tpmauthn::tpm {

inline constexpr TPM2_HANDLE kPinIndexFirst = 0x01300000;
inline constexpr uint32_t kPinIndexSpan = 0x00100000;
inline constexpr uint32_t kPinTriesMin = 3;
inline constexpr uint32_t kPinTriesMax = 32;
inline constexpr uint32_t kPinTriesDefault = 8;  // as CTAP2 authenticators

struct PinIndex {
  TPM2_HANDLE handle = 0;
  webauthn::Bytes name;  // nameAlg ‖ H(TPMS_NV_PUBLIC) with TPMA_NV_WRITTEN set
};

struct PinCounter {
  uint32_t count = 0;  // wrong PINs since the last right one
  uint32_t limit = 0;
  uint32_t tries_left() const { return count >= limit ? 0 : limit - count; }
};

// Defines a PIN index with `auth` and writes {pinCount 0, pinLimit `limit`}
// into it once. With `at`, exactly that handle (a reset); otherwise a free
// one in the range. The owner authorization (empty) and `auth` travel in
// `srk`'s salted session, `auth` encrypted. TPM_RC_NV_SPACE: kRefused with
// that reason. On any failure nothing stays defined.
TpmResult<PinIndex> DefinePinIndex(ESYS_CONTEXT* esys, const Srk& srk, const TPM2B_AUTH& auth,
                                   uint32_t limit, std::optional<TPM2_HANDLE> at = std::nullopt);

// As DefinePinIndex without `at`, probing from `first` instead of a random
// handle (tests; a caller that keeps its own allocation).
TpmResult<PinIndex> DefinePinIndexFrom(ESYS_CONTEXT* esys, const Srk& srk, const TPM2B_AUTH& auth,
                                       uint32_t limit, TPM2_HANDLE first);

// The index at `handle` as an ESYS_TR, refused (kWrongTpm) unless its Name
// is `expected_name` — i.e. it is this credential's, with the attributes
// and policy above. Close with Esys_TR_Close (NVCloser below).
TpmResult<ESYS_TR> OpenPinIndex(ESYS_CONTEXT* esys, TPM2_HANDLE handle,
                                webauthn::ByteView expected_name);

// pinCount and pinLimit, read with the owner's (empty) authorization: no
// PIN needed and no try spent.
TpmResult<PinCounter> ReadPinCounter(ESYS_CONTEXT* esys, ESYS_TR index);

// Deletes the index (owner authorization).
TpmResult<void> UndefinePinIndex(ESYS_CONTEXT* esys, ESYS_TR index);

// Proves `auth` to the index (TPM2_NV_Read with the index's authorization,
// in `srk`'s salted session): a wrong value counts as a failure, the right
// one resets the count. For change-pin.
TpmResult<void> ProvePin(ESYS_CONTEXT* esys, const Srk& srk, ESYS_TR index, const TPM2B_AUTH& auth);

// policyDigest after PolicySecret(an entity named `name`, empty policyRef)
// extends `previous` (TPM 2.0 Part 3 §23.4: H(H(old ‖ TPM_CC_PolicySecret ‖
// name) ‖ policyRef)). Computed in software: a trial PolicySecret would
// spend a try.
TPM2B_DIGEST PolicySecretDigest(const TPM2B_DIGEST& previous, webauthn::ByteView name);

// Runs PolicySecret(index, `auth`) on `policy_session`, authorized through a
// fresh salted HMAC session to `srk`. Wrong PIN: kWrongPin; blocked: kPinBlocked.
TpmResult<void> PolicySecretWithPin(ESYS_CONTEXT* esys, const Srk& srk, ESYS_TR index,
                                    const TPM2B_AUTH& auth, ESYS_TR policy_session);

// An unsalted policy session (the key it authorizes has no authValue; the
// PIN goes to PolicySecret through a salted session instead).
TpmResult<TransientHandle> StartPolicySession(ESYS_CONTEXT* esys);

// Closes an NV ESYS_TR (not a TPM object: nothing to flush).
struct NvCloser {
  ESYS_CONTEXT* esys;
  ESYS_TR handle;
  ~NvCloser() {
    if (handle != ESYS_TR_NONE) Esys_TR_Close(esys, &handle);
  }
};

}  // namespace tpmauthn::tpm
