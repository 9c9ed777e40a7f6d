// The machine's hardware sign counter: one TPM NV index of type
// TPM_NT_COUNTER (TPM 2.0 Part 1 §37.2.2, Part 2 §13.4, Part 3 §31.8
// NV_Increment, §31.13 NV_Read), shared by every credential made with
// `enroll --counter tpm`. A key file keeps only the counter's value at
// enrollment (its offset); each assertion increments the index and signs
// value − offset. The TPM never lets a counter index go back: a new one
// starts above the highest value any counter on this TPM ever held. So a key
// store restored from an old backup still signs counters above everything a
// relying party has seen, where a key file's own counter would go back and
// look like a clone.
//
// Attributes: COUNTER|AUTHWRITE|AUTHREAD|OWNERREAD|NO_DA|ORDERLY, empty
// authValue. Anyone who can reach the TPM may move it forward, nobody can
// move it back; NO_DA keeps it usable while the TPM is in lockout (an
// authValue under DA would not). ORDERLY: the TPM writes the value to NV only
// every TPM2_PT_ORDERLY_COUNT + 1 increments (swtpm: 256), so after an
// unorderly stop it jumps forward — never assume +1. A TPM that refuses an
// increment to spare its NV answers TPM_RC_NV_RATE: that is kBusy (retried
// with back-off, then reported), never a fall back to the key file's counter.
//
// The read and the increment use a password session with the index's empty
// authValue: no secret travels, and a party that can alter TPM responses on
// the bus can forge far more than a counter value.
#pragma once

#include <tss2/tss2_esys.h>

#include <cstdint>

#include "tpm/tpm_error.h"

namespace tpmauthn::tpm {

// In the TCG registry's owner range, below the PIN indexes (tpm/pin_index.h).
inline constexpr TPM2_HANDLE kSignCounterIndex = 0x01287a00;

// Opens the counter at `handle`, first defining it (the owner's empty
// authorization) and incrementing it once if nothing is defined there.
// Returns its current value, the offset a new credential records. kRefused
// with the reason when the owner's authorization is not empty, NV is full,
// or something that is not such a counter sits at `handle`.
TpmResult<uint64_t> PrepareSignCounter(ESYS_CONTEXT* esys, TPM2_HANDLE handle);

// Increments the counter at `handle` and reads the new value. A missing or
// foreign index is kUnavailable with the reason; TPM_RC_NV_RATE and
// TPM_RC_NV_UNAVAILABLE are kBusy.
TpmResult<uint64_t> IncrementSignCounter(ESYS_CONTEXT* esys, TPM2_HANDLE handle);

// Reads the counter without moving it (status).
TpmResult<uint64_t> ReadSignCounter(ESYS_CONTEXT* esys, TPM2_HANDLE handle);

// A credential's signCount for the counter's `value`: value − `offset`,
// which must be ≥ 1 and fit 32 bits (else kStore: corrupt offset, or a
// counter used up; re-enroll).
TpmResult<uint32_t> SignCountFor(uint64_t value, uint64_t offset);

}  // namespace tpmauthn::tpm
