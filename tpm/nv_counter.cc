// The shared TPM_NT_COUNTER index on ESAPI (TPM 2.0 Part 3: §31.3
// NV_DefineSpace, §31.6 NV_ReadPublic, §31.8 NV_Increment, §31.13 NV_Read).
#include "tpm/nv_counter.h"

#include <string>

#include "tpm/connection.h"
#include "tpm/pin_index.h"

namespace tpmauthn::tpm {
namespace {

constexpr TPMA_NV kCounterType = static_cast<TPMA_NV>(TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT);
constexpr TPMA_NV kRequired = kCounterType | TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;
constexpr TPMA_NV kDefined = kRequired | TPMA_NV_OWNERREAD | TPMA_NV_ORDERLY;

std::string Hex(TPM2_HANDLE handle) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kDigits[(handle >> shift) & 0xf]);
  return out;
}

std::string Where(TPM2_HANDLE handle) { return "the TPM sign counter (NV index " + Hex(handle) + ")"; }

// NV_RATE / NV_UNAVAILABLE: the TPM spares its NV for now; ask again later.
TpmError CounterRc(TSS2_RC rc, const char* operation) {
  TpmError error = FromRc(rc, operation);
  const TSS2_RC base = BaseRc(rc);
  if (base == TPM2_RC_NV_RATE || base == TPM2_RC_NV_UNAVAILABLE) error.kind = TpmErrorKind::kBusy;
  return error;
}

enum class Found { kCounter, kNothing, kSomethingElse, kError };

// The index at `handle` as an ESYS_TR, checked to be a counter this code can
// use; `found` says what is there when it is not.
TpmResult<ESYS_TR> Open(ESYS_CONTEXT* esys, TPM2_HANDLE handle, Found* found) {
  *found = Found::kError;
  ESYS_TR index = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     &index);
  if (rc != TSS2_RC_SUCCESS) {
    if (BaseRc(rc) == TPM2_RC_HANDLE) {
      *found = Found::kNothing;
      return TpmFail(TpmErrorKind::kUnavailable,
                     Where(handle) + " is not defined; it was deleted after enrollment "
                     "(re-enroll, or enroll with --counter file)");
    }
    return CounterRc(rc, "Esys_TR_FromTPMPublic(sign counter)");
  }
  NvCloser closer{esys, index};
  TPM2B_NV_PUBLIC* pub = nullptr;
  rc = Esys_NV_ReadPublic(esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, nullptr);
  EsysPtr<TPM2B_NV_PUBLIC> owned(pub);
  if (rc != TSS2_RC_SUCCESS) return CounterRc(rc, "Esys_NV_ReadPublic(sign counter)");
  const TPMA_NV attributes = owned->nvPublic.attributes;
  if ((attributes & TPMA_NV_TPM2_NT_MASK) != kCounterType || (attributes & kRequired) != kRequired) {
    *found = Found::kSomethingElse;
    return TpmFail(TpmErrorKind::kUnavailable,
                   "NV index " + Hex(handle) + " is not a counter tpmauthn can use (attributes " +
                       Hex(attributes) + "); something else defined it");
  }
  closer.handle = ESYS_TR_NONE;
  *found = Found::kCounter;
  return index;
}

TpmResult<uint64_t> Read(ESYS_CONTEXT* esys, ESYS_TR index) {
  TPM2B_MAX_NV_BUFFER* data = nullptr;
  TSS2_RC rc = Esys_NV_Read(esys, index, index, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                            sizeof(uint64_t), 0, &data);
  EsysPtr<TPM2B_MAX_NV_BUFFER> owned(data);
  if (rc != TSS2_RC_SUCCESS) return CounterRc(rc, "Esys_NV_Read(sign counter)");
  if (owned->size != sizeof(uint64_t)) {
    return TpmFail(TpmErrorKind::kUnavailable, "the TPM sign counter read returned " +
                                                   std::to_string(owned->size) + " bytes");
  }
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | owned->buffer[i];
  return value;
}

TpmResult<void> Increment(ESYS_CONTEXT* esys, ESYS_TR index) {
  TSS2_RC rc = Esys_NV_Increment(esys, index, index, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return CounterRc(rc, "Esys_NV_Increment(sign counter)");
  return {};
}

TpmResult<void> Define(ESYS_CONTEXT* esys, TPM2_HANDLE handle) {
  TPM2B_NV_PUBLIC pub{};
  pub.nvPublic.nvIndex = handle;
  pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
  pub.nvPublic.attributes = kDefined;
  pub.nvPublic.dataSize = sizeof(uint64_t);
  TPM2B_AUTH empty{};
  ESYS_TR index = ESYS_TR_NONE;
  TSS2_RC rc = Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                   ESYS_TR_NONE, &empty, &pub, &index);
  if (rc != TSS2_RC_SUCCESS) {
    if (BaseRc(rc) == TPM2_RC_NV_DEFINED) return {};  // another enrollment was first
    TpmError error = FromRc(rc, "Esys_NV_DefineSpace(sign counter)");
    const TSS2_RC base = BaseRc(rc);
    if (base == TPM2_RC_BAD_AUTH || base == TPM2_RC_AUTH_FAIL) {
      error.kind = TpmErrorKind::kRefused;
      error.message = "defining " + Where(handle) +
                      " needs the TPM owner's authorization, which is set (" + error.message + ")";
    } else if (base == TPM2_RC_NV_SPACE) {
      error.kind = TpmErrorKind::kRefused;
      error.message = "no NV space left for " + Where(handle) + " (" + error.message + ")";
    }
    return error;
  }
  NvCloser closer{esys, index};
  // A new counter reads TPM_RC_NV_UNINITIALIZED until its first increment;
  // that one sets it to the highest value the TPM ever held (+1).
  return Increment(esys, index);
}

}  // namespace

TpmResult<uint64_t> PrepareSignCounter(ESYS_CONTEXT* esys, TPM2_HANDLE handle) {
  Found found;
  auto index = Open(esys, handle, &found);
  if (!index && found == Found::kNothing) {
    if (auto defined = Define(esys, handle); !defined) return defined.error();
    index = Open(esys, handle, &found);
  }
  if (!index) {
    TpmError error = index.error();
    if (found == Found::kSomethingElse) error.kind = TpmErrorKind::kRefused;
    return error;
  }
  NvCloser closer{esys, *index};
  auto value = Read(esys, *index);
  if (!value && BaseRc(value.error().rc) == TPM2_RC_NV_UNINITIALIZED) {
    // Defined by a run that stopped before its first increment.
    if (auto moved = Increment(esys, *index); !moved) return moved.error();
    value = Read(esys, *index);
  }
  return value;
}

TpmResult<uint64_t> IncrementSignCounter(ESYS_CONTEXT* esys, TPM2_HANDLE handle) {
  Found found;
  auto index = Open(esys, handle, &found);
  if (!index) return index.error();
  NvCloser closer{esys, *index};
  if (auto moved = Increment(esys, *index); !moved) return moved.error();
  return Read(esys, *index);
}

TpmResult<uint64_t> ReadSignCounter(ESYS_CONTEXT* esys, TPM2_HANDLE handle) {
  Found found;
  auto index = Open(esys, handle, &found);
  if (!index) return index.error();
  NvCloser closer{esys, *index};
  return Read(esys, *index);
}

TpmResult<uint32_t> SignCountFor(uint64_t value, uint64_t offset) {
  if (value <= offset) {
    return TpmFail(TpmErrorKind::kStore,
                   "the TPM sign counter (" + std::to_string(value) +
                       ") is not above this credential's start (" + std::to_string(offset) +
                       "): the key file's counterOffset is wrong");
  }
  if (value - offset > UINT32_MAX) {
    return TpmFail(TpmErrorKind::kStore, "signature counter exhausted; re-enroll");
  }
  return static_cast<uint32_t>(value - offset);
}

}  // namespace tpmauthn::tpm
