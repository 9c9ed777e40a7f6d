// TPM_NT_PIN_FAIL indexes on ESAPI (TPM 2.0 Part 3: §31.3 NV_DefineSpace,
// §31.4 NV_UndefineSpace, §31.6 NV_ReadPublic, §31.7 NV_Write, §31.13
// NV_Read, §23.4 PolicySecret, §23.11 PolicyCommandCode, §23.21
// PolicyNvWritten).
#include "tpm/pin_index.h"

#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include <algorithm>
#include <string>

#include "webauthn/client_data.h"

namespace tpmauthn::tpm {
namespace {

using webauthn::Bytes;

std::string Hex(TPM2_HANDLE handle) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kDigits[(handle >> shift) & 0xf]);
  return out;
}

void PutBe32(Bytes& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

TPM2B_DIGEST ToDigest(const Bytes& bytes) {
  TPM2B_DIGEST digest{};
  digest.size = static_cast<UINT16>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), digest.buffer);
  return digest;
}

// H(old ‖ commandCode ‖ argument) — the shape of every policy command here.
Bytes Extend(webauthn::ByteView old, TPM2_CC command, webauthn::ByteView argument) {
  Bytes message(old.begin(), old.end());
  PutBe32(message, command);
  message.insert(message.end(), argument.begin(), argument.end());
  return webauthn::Sha256(message);
}

// PolicyCommandCode(NV_Write) then PolicyNvWritten(NO), from an empty digest.
TPM2B_DIGEST WriteOncePolicy() {
  Bytes code;
  PutBe32(code, TPM2_CC_NV_Write);
  const Bytes zero(32, 0);
  const Bytes after_code = Extend(zero, TPM2_CC_PolicyCommandCode, code);
  const Bytes not_written = {TPM2_NO};
  return ToDigest(Extend(after_code, TPM2_CC_PolicyNvWritten, not_written));
}

TPM2B_NV_PUBLIC Template(TPM2_HANDLE handle) {
  TPM2B_NV_PUBLIC pub{};
  pub.nvPublic.nvIndex = handle;
  pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
  pub.nvPublic.attributes =
      static_cast<TPMA_NV>(TPM2_NT_PIN_FAIL << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_NO_DA |
      TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD | TPMA_NV_POLICYWRITE;
  pub.nvPublic.authPolicy = WriteOncePolicy();
  pub.nvPublic.dataSize = sizeof(UINT32) * 2;  // TPMS_NV_PIN_COUNTER_PARAMETERS
  return pub;
}

TpmResult<void> WriteOnce(ESYS_CONTEXT* esys, ESYS_TR index, uint32_t limit) {
  auto session = StartPolicySession(esys);
  if (!session) return session.error();
  TSS2_RC rc = Esys_PolicyCommandCode(esys, session->get(), ESYS_TR_NONE, ESYS_TR_NONE,
                                      ESYS_TR_NONE, TPM2_CC_NV_Write);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_PolicyCommandCode");
  rc = Esys_PolicyNvWritten(esys, session->get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            TPM2_NO);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_PolicyNvWritten");
  TPMS_NV_PIN_COUNTER_PARAMETERS counter{0, limit};
  TPM2B_MAX_NV_BUFFER data{};
  size_t offset = 0;
  rc = Tss2_MU_TPMS_NV_PIN_COUNTER_PARAMETERS_Marshal(&counter, data.buffer, sizeof(data.buffer),
                                                       &offset);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Tss2_MU_TPMS_NV_PIN_COUNTER_PARAMETERS_Marshal");
  data.size = static_cast<UINT16>(offset);
  rc = Esys_TRSess_SetAttributes(esys, session->get(), 0, TPMA_SESSION_CONTINUESESSION);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TRSess_SetAttributes");
  rc = Esys_NV_Write(esys, index, index, session->get(), ESYS_TR_NONE, ESYS_TR_NONE, &data, 0);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_NV_Write(PIN index)");
  session->Forget();  // closed by the TPM (continueSession clear)
  return {};
}

TpmResult<Bytes> NameOf(ESYS_CONTEXT* esys, ESYS_TR index) {
  TPM2B_NV_PUBLIC* pub = nullptr;
  TPM2B_NAME* name = nullptr;
  TSS2_RC rc = Esys_NV_ReadPublic(esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                                  &name);
  EsysPtr<TPM2B_NV_PUBLIC> owned_pub(pub);
  EsysPtr<TPM2B_NAME> owned_name(name);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_NV_ReadPublic");
  if (!(owned_pub->nvPublic.attributes & TPMA_NV_WRITTEN)) {
    return TpmFail(TpmErrorKind::kRefused, "the PIN index was not written");
  }
  return Bytes(owned_name->name, owned_name->name + owned_name->size);
}

// One definition and its first write at `handle`; undefined again if the
// write fails.
TpmResult<PinIndex> DefineAt(ESYS_CONTEXT* esys, ESYS_TR owner_session, const TPM2B_AUTH& auth,
                             uint32_t limit, TPM2_HANDLE handle) {
  TPM2B_NV_PUBLIC pub = Template(handle);
  TPM2B_AUTH auth_copy = auth;
  ESYS_TR index = ESYS_TR_NONE;
  TSS2_RC rc = Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, owner_session, ESYS_TR_NONE,
                                   ESYS_TR_NONE, &auth_copy, &pub, &index);
  OPENSSL_cleanse(&auth_copy, sizeof(auth_copy));
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_NV_DefineSpace");
  NvCloser closer{esys, index};
  // Esys_NV_DefineSpace keeps the authValue it was given with `index`, and
  // Esys_TR_Close frees it without wiping: overwrite it now (the write below
  // is authorized by policy, not by the PIN).
  const TPM2B_AUTH empty{};
  Esys_TR_SetAuth(esys, index, &empty);
  auto written = WriteOnce(esys, index, limit);
  TpmResult<Bytes> name = written ? NameOf(esys, index) : TpmResult<Bytes>(written.error());
  if (!name) {
    TpmError error = name.error();
    if (auto gone = UndefinePinIndex(esys, closer.handle); gone) {
      closer.handle = ESYS_TR_NONE;  // ESAPI dropped the object with the index
    } else {
      error.message += "; the half-made PIN index " + Hex(handle) +
                       " could not be deleted (" + gone.error().message +
                       "): remove it with tpm2_nvundefine " + Hex(handle);
    }
    return error;
  }
  return PinIndex{handle, std::move(*name)};
}

// Runs `command` (one TPM command that authorizes `index` in the session it
// is given) with `auth` for the index, in a fresh HMAC session salted to the
// SRK that the command ends. A wrong PIN is kWrongPin (from FromRc), a
// blocked one kPinBlocked.
template <typename Command>
TpmResult<void> WithPin(ESYS_CONTEXT* esys, const Srk& srk, ESYS_TR index, const TPM2B_AUTH& auth,
                        const char* operation, Command&& command) {
  auto session = StartSaltedSession(esys, srk);
  if (!session) return session.error();
  TSS2_RC rc = Esys_TR_SetAuth(esys, index, &auth);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TR_SetAuth");
  rc = Esys_TRSess_SetAttributes(esys, session->get(), 0, TPMA_SESSION_CONTINUESESSION);
  if (rc == TSS2_RC_SUCCESS) rc = command(session->get());
  const TPM2B_AUTH empty{};
  Esys_TR_SetAuth(esys, index, &empty);  // ESAPI keeps no copy of the PIN's authValue
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, operation);
    if (BaseRc(rc) == TPM2_RC_AUTH_UNAVAILABLE) error.kind = TpmErrorKind::kPinBlocked;
    return error;
  }
  session->Forget();  // closed by the TPM with the command (continueSession clear)
  return {};
}

}  // namespace

// bind is ESYS_TR_RH_NULL, not ESYS_TR_NONE: ESAPI (3.2.1 and 4.1.3,
// Esys_StartAuthSession_Finish) treats only bind == ESYS_TR_RH_NULL with no
// tpmKey as unbound and unsalted; with ESYS_TR_NONE it derives a session key
// from an empty secret while the TPM's is empty, so any HMAC the TPM checks
// on the session differs. Measured on swtpm with ESYS_TR_NONE: 5-7 of 20
// concurrent assertions failed Sign with TPM_RC_BAD_AUTH (none of 60 one
// after another); with ESYS_TR_RH_NULL none of 140.
TpmResult<TransientHandle> StartPolicySession(ESYS_CONTEXT* esys) {
  TPMT_SYM_DEF none{};
  none.algorithm = TPM2_ALG_NULL;
  ESYS_TR raw = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_RH_NULL, ESYS_TR_NONE,
                                     ESYS_TR_NONE, ESYS_TR_NONE, nullptr, TPM2_SE_POLICY, &none,
                                     TPM2_ALG_SHA256, &raw);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_StartAuthSession(policy)");
  return TransientHandle(esys, raw);
}

namespace {

// Defines at `at`, or at the first free handle from `first` on.
TpmResult<PinIndex> Define(ESYS_CONTEXT* esys, const Srk& srk, const TPM2B_AUTH& auth,
                           uint32_t limit, std::optional<TPM2_HANDLE> at, TPM2_HANDLE first) {
  if (limit < kPinTriesMin || limit > kPinTriesMax) {
    return TpmFail(TpmErrorKind::kRefused, "PIN tries must be " + std::to_string(kPinTriesMin) +
                                               "-" + std::to_string(kPinTriesMax));
  }
  auto session = StartSaltedSession(esys, srk);
  if (!session) return session.error();
  // Encrypt NV_DefineSpace's first parameter (the index's authValue).
  TSS2_RC rc = Esys_TRSess_SetAttributes(
      esys, session->get(), TPMA_SESSION_DECRYPT | TPMA_SESSION_CONTINUESESSION, 0xff);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TRSess_SetAttributes");

  constexpr uint32_t kProbes = 64;
  const uint32_t offset = (first - kPinIndexFirst) % kPinIndexSpan;
  for (uint32_t i = 0; i < (at ? 1 : kProbes); ++i) {
    const TPM2_HANDLE handle = at ? *at : kPinIndexFirst + (offset + i) % kPinIndexSpan;
    auto defined = DefineAt(esys, session->get(), auth, limit, handle);
    if (defined) return defined;
    TpmError error = defined.error();
    if (!at && BaseRc(error.rc) == TPM2_RC_NV_DEFINED) continue;  // someone else's: next
    if (BaseRc(error.rc) == TPM2_RC_NV_SPACE) {
      error.message = "the TPM has no NV space left for another PIN index (" + error.message +
                      "); remove credentials that are no longer used";
    } else if (BaseRc(error.rc) == TPM2_RC_BAD_AUTH || BaseRc(error.rc) == TPM2_RC_AUTH_FAIL) {
      error.message = "defining the PIN index needs the TPM's owner authorization, which is "
                      "not empty here (" + error.message + ")";
    }
    return error;
  }
  return TpmFail(TpmErrorKind::kRefused, "no free PIN index handle in " +
                                             std::to_string(kProbes) + " from " +
                                             Hex(kPinIndexFirst + offset));
}

}  // namespace

TpmResult<PinIndex> DefinePinIndex(ESYS_CONTEXT* esys, const Srk& srk, const TPM2B_AUTH& auth,
                                   uint32_t limit, std::optional<TPM2_HANDLE> at) {
  uint32_t random = 0;
  if (!at && RAND_bytes(reinterpret_cast<unsigned char*>(&random), sizeof(random)) != 1) {
    return TpmFail(TpmErrorKind::kRefused, "the system random generator failed");
  }
  return Define(esys, srk, auth, limit, at, kPinIndexFirst + random % kPinIndexSpan);
}

TpmResult<PinIndex> DefinePinIndexFrom(ESYS_CONTEXT* esys, const Srk& srk, const TPM2B_AUTH& auth,
                                       uint32_t limit, TPM2_HANDLE first) {
  return Define(esys, srk, auth, limit, std::nullopt, first);
}

TpmResult<ESYS_TR> OpenPinIndex(ESYS_CONTEXT* esys, TPM2_HANDLE handle,
                                webauthn::ByteView expected_name) {
  ESYS_TR index = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     &index);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_TR_FromTPMPublic");
    if (error.kind == TpmErrorKind::kRefused) {
      error.kind = TpmErrorKind::kWrongTpm;
      error.message = "this credential's PIN index " + Hex(handle) +
                      " is not in the TPM (a cleared or another TPM?): " + error.message;
    }
    return error;
  }
  NvCloser closer{esys, index};
  TPM2B_NAME* name = nullptr;
  rc = Esys_TR_GetName(esys, index, &name);
  EsysPtr<TPM2B_NAME> owned(name);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TR_GetName");
  if (Bytes(owned->name, owned->name + owned->size) != Bytes(expected_name.begin(),
                                                             expected_name.end())) {
    return TpmFail(TpmErrorKind::kWrongTpm,
                   "the NV index at " + Hex(handle) +
                       " is not this credential's PIN index (its Name differs)");
  }
  closer.handle = ESYS_TR_NONE;
  return index;
}

TpmResult<PinCounter> ReadPinCounter(ESYS_CONTEXT* esys, ESYS_TR index) {
  TPM2B_MAX_NV_BUFFER* data = nullptr;
  TSS2_RC rc = Esys_NV_Read(esys, ESYS_TR_RH_OWNER, index, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, sizeof(UINT32) * 2, 0, &data);
  EsysPtr<TPM2B_MAX_NV_BUFFER> owned(data);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_NV_Read(owner)");
  TPMS_NV_PIN_COUNTER_PARAMETERS counter{};
  size_t offset = 0;
  rc = Tss2_MU_TPMS_NV_PIN_COUNTER_PARAMETERS_Unmarshal(owned->buffer, owned->size, &offset,
                                                         &counter);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Tss2_MU_TPMS_NV_PIN_COUNTER_PARAMETERS_Unmarshal");
  return PinCounter{counter.pinCount, counter.pinLimit};
}

TpmResult<void> UndefinePinIndex(ESYS_CONTEXT* esys, ESYS_TR index) {
  TSS2_RC rc = Esys_NV_UndefineSpace(esys, ESYS_TR_RH_OWNER, index, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_NV_UndefineSpace");
  return {};
}

TpmResult<void> ProvePin(ESYS_CONTEXT* esys, const Srk& srk, ESYS_TR index,
                         const TPM2B_AUTH& auth) {
  return WithPin(esys, srk, index, auth, "Esys_NV_Read(PIN)", [&](ESYS_TR session) {
    TPM2B_MAX_NV_BUFFER* data = nullptr;
    const TSS2_RC rc = Esys_NV_Read(esys, index, index, session, ESYS_TR_NONE, ESYS_TR_NONE,
                                    sizeof(UINT32) * 2, 0, &data);
    Esys_Free(data);
    return rc;
  });
}

TPM2B_DIGEST PolicySecretDigest(const TPM2B_DIGEST& previous, webauthn::ByteView name) {
  const Bytes first =
      Extend(webauthn::ByteView(previous.buffer, previous.size), TPM2_CC_PolicySecret, name);
  return ToDigest(webauthn::Sha256(first));  // ‖ policyRef, which is empty
}

TpmResult<void> PolicySecretWithPin(ESYS_CONTEXT* esys, const Srk& srk, ESYS_TR index,
                                    const TPM2B_AUTH& auth, ESYS_TR policy_session) {
  return WithPin(esys, srk, index, auth, "Esys_PolicySecret", [&](ESYS_TR session) {
    TPM2B_NONCE no_nonce{};
    TPM2B_DIGEST no_cp_hash{};
    TPM2B_NONCE no_policy_ref{};
    TPM2B_TIMEOUT* timeout = nullptr;
    TPMT_TK_AUTH* ticket = nullptr;
    const TSS2_RC rc =
        Esys_PolicySecret(esys, index, policy_session, session, ESYS_TR_NONE, ESYS_TR_NONE,
                          &no_nonce, &no_cp_hash, &no_policy_ref, 0, &timeout, &ticket);
    Esys_Free(timeout);
    Esys_Free(ticket);
    return rc;
  });
}

}  // namespace tpmauthn::tpm
