// SRK discovery, creation (TCG ECC P-256 template) and salted sessions.
#include "tpm/srk.h"

#include <cstring>

namespace tpmauthn::tpm {
namespace {

TPM2B_PUBLIC EccSrkTemplate() {
  TPM2B_PUBLIC t{};
  t.publicArea.type = TPM2_ALG_ECC;
  t.publicArea.nameAlg = TPM2_ALG_SHA256;
  t.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                  TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                  TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  TPMS_ECC_PARMS& ecc = t.publicArea.parameters.eccDetail;
  ecc.symmetric.algorithm = TPM2_ALG_AES;
  ecc.symmetric.keyBits.aes = 128;
  ecc.symmetric.mode.aes = TPM2_ALG_CFB;
  ecc.scheme.scheme = TPM2_ALG_NULL;
  ecc.curveID = TPM2_ECC_NIST_P256;
  ecc.kdf.scheme = TPM2_ALG_NULL;
  // The TCG template fills unique with 32 zero bytes per coordinate.
  t.publicArea.unique.ecc.x.size = 32;
  t.publicArea.unique.ecc.y.size = 32;
  return t;
}

// Esys_TR_FromTPMPublic (one TPM2_ReadPublic) and the name ESAPI computed
// from the public area it read.
TpmResult<Srk> FindSrk(ESYS_CONTEXT* esys, TSS2_RC* raw_rc) {
  ESYS_TR handle = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(esys, kSrkHandle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     &handle);
  *raw_rc = rc;
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TR_FromTPMPublic(0x81000001)");
  TPM2B_NAME* raw_name = nullptr;
  rc = Esys_TR_GetName(esys, handle, &raw_name);
  EsysPtr<TPM2B_NAME> name(raw_name);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TR_GetName(SRK)");
  Srk srk;
  srk.handle = handle;
  srk.name.assign(name->name, name->name + name->size);
  return srk;
}

}  // namespace

TpmResult<Srk> LoadSrk(ESYS_CONTEXT* esys, bool create) {
  TSS2_RC rc = TSS2_RC_SUCCESS;
  auto found = FindSrk(esys, &rc);
  if (found) {
    TPM2B_PUBLIC* raw_public = nullptr;
    rc = Esys_ReadPublic(esys, found->handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                         &raw_public, nullptr, nullptr);
    EsysPtr<TPM2B_PUBLIC> pub(raw_public);
    if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_ReadPublic(0x81000001)");
    const TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                             TPMA_OBJECT_FIXEDPARENT;
    const TPMT_PUBLIC& area = pub->publicArea;
    if ((area.objectAttributes & need) != need ||
        (area.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
        (area.type != TPM2_ALG_ECC && area.type != TPM2_ALG_RSA)) {
      return TpmFail(TpmErrorKind::kRefused,
                     "the persistent key at 0x81000001 is not a storage key (restricted, decrypt, "
                     "fixedTPM, fixedParent); tpmauthn will not use it");
    }
    found->ecc = area.type == TPM2_ALG_ECC;
    return found;
  }
  if (BaseRc(rc) != TPM2_RC_HANDLE) return found.error();
  if (!create) {
    return TpmFail(TpmErrorKind::kWrongTpm,
                   "this TPM has no SRK at 0x81000001 (cleared, or another TPM); credentials "
                   "made on it before cannot be used — re-enroll");
  }
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_PUBLIC in_public = EccSrkTemplate();
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcr{};
  ESYS_TR primary = ESYS_TR_NONE;
  rc = Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &sensitive, &in_public, &outside, &creation_pcr, &primary, nullptr,
                          nullptr, nullptr, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_CreatePrimary(SRK)");
    if (error.kind == TpmErrorKind::kWrongPin) {
      error.kind = TpmErrorKind::kRefused;
      error.message += " — the owner hierarchy has a password; create the SRK yourself: "
                       "tpm2_createprimary -C o -G ecc256:aes128cfb -c srk.ctx && "
                       "tpm2_evictcontrol -C o -c srk.ctx 0x81000001";
    }
    return error;
  }
  TransientHandle transient(esys, primary);
  ESYS_TR persistent = ESYS_TR_NONE;
  rc = Esys_EvictControl(esys, ESYS_TR_RH_OWNER, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE, kSrkHandle, &persistent);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_EvictControl(SRK → 0x81000001)");
  Esys_TR_Close(esys, &persistent);
  return LoadSrk(esys, /*create=*/false);
}

TpmResult<Srk> LoadSrkChecked(ESYS_CONTEXT* esys, webauthn::ByteView expected_name) {
  // The name binds type, attributes and key, all checked at enrollment, so one
  // TPM2_ReadPublic and a comparison suffice here.
  TSS2_RC rc = TSS2_RC_SUCCESS;
  auto srk = FindSrk(esys, &rc);
  if (!srk) {
    if (BaseRc(rc) == TPM2_RC_HANDLE) {
      return TpmFail(TpmErrorKind::kWrongTpm,
                     "this TPM has no SRK at 0x81000001 (cleared, or another TPM); credentials "
                     "made before cannot be used — re-enroll");
    }
    return srk;
  }
  if (!webauthn::ConstantTimeEquals(srk->name, expected_name)) {
    return TpmFail(TpmErrorKind::kWrongTpm,
                   "the SRK at 0x81000001 is not the one this credential was made under "
                   "(another TPM, a cleared TPM, or a substituted key); refusing to use it");
  }
  return srk;
}

TpmResult<TransientHandle> StartSaltedSession(ESYS_CONTEXT* esys, const Srk& srk, TPM2_SE type) {
  TPMT_SYM_DEF symmetric{};
  symmetric.algorithm = TPM2_ALG_AES;
  symmetric.keyBits.aes = 128;
  symmetric.mode.aes = TPM2_ALG_CFB;
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(esys, srk.handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, nullptr, type, &symmetric, TPM2_ALG_SHA256,
                                     &session);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_StartAuthSession(salted)");
  return TransientHandle(esys, session);
}

}  // namespace tpmauthn::tpm
