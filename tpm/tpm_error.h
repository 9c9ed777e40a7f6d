// Errors from the TPM layer, classified so that callers (CLI exit codes, PAM
// results, user messages) can act on them. Every TSS2_RC is decoded where it
// happens, with the operation that failed.
#pragma once

#include <tss2/tss2_common.h>

#include <optional>
#include <string>

#include "webauthn/result.h"

namespace tpmauthn::tpm {

enum class TpmErrorKind {
  kUnavailable,  // no TPM, TCTI failure, TPM not responding
  kBusy,         // out of object/session slots or asked to retry; worth another try
  kLockout,      // dictionary-attack lockout
  kWrongPin,     // authorization failure on the credential key or its PIN index
  kPinBlocked,   // the credential's PIN index reached its limit: only reset-pin helps
  kPolicy,       // PCR policy no longer satisfied
  kWrongTpm,     // SRK differs from the one recorded: another TPM or a swapped key
  kStore,        // key store file missing, unreadable or invalid
  kRefused,      // other refusals (owner auth needed, unsupported request)
};

struct TpmError {
  TpmErrorKind kind = TpmErrorKind::kUnavailable;
  std::string message;
  std::optional<uint32_t> tries_left;        // kWrongPin: failures left before lockout
  std::optional<uint32_t> recovery_seconds;  // kLockout: seconds until a try is restored
  TSS2_RC rc = TSS2_RC_SUCCESS;              // the code decoded, when there was one
  // kWrongPin/kPinBlocked: the credential's own PIN counter (tries_left is
  // its), not the TPM's machine-wide dictionary-attack counter.
  bool per_credential_pin = false;
};

template <typename T>
using TpmResult = webauthn::Result<T, TpmError>;

inline TpmError TpmFail(TpmErrorKind kind, std::string message) {
  return TpmError{kind, std::move(message), std::nullopt, std::nullopt, TSS2_RC_SUCCESS, false};
}

// The TPM response code without session/parameter/handle index bits, for
// comparing against TPM2_RC_* constants.
TSS2_RC BaseRc(TSS2_RC rc);

// "Esys_Sign: tpm:session(1):the authorization HMAC check failed ..." with a
// kind chosen from the code (lockout, wrong PIN, policy, unavailable...).
TpmError FromRc(TSS2_RC rc, const char* operation);

}  // namespace tpmauthn::tpm
