// EK, EK certificate and TPM identity on ESAPI (TPM 2.0 Part 3: §31.13
// NV_Read, §31.6 NV_ReadPublic, §12.4 ReadPublic, §23.4 PolicySecret, §30.2
// GetCapability).
#include "tpm/endorsement.h"

#include <openssl/x509.h>

#include <cstdio>
#include <map>

#include "tpm/pin_index.h"

namespace tpmauthn::tpm {
namespace {

using webauthn::Bytes;

// TPM2_PT_NV_BUFFER_MAX, or 512 when the TPM does not say.
uint32_t NvBufferMax(ESYS_CONTEXT* esys) {
  TPMS_CAPABILITY_DATA* data = nullptr;
  TPMI_YES_NO more = TPM2_NO;
  TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &data);
  EsysPtr<TPMS_CAPABILITY_DATA> owned(data);
  if (rc == TSS2_RC_SUCCESS && owned->data.tpmProperties.count == 1 &&
      owned->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
      owned->data.tpmProperties.tpmProperty[0].value > 0) {
    return std::min<uint32_t>(owned->data.tpmProperties.tpmProperty[0].value,
                              sizeof(TPM2B_MAX_NV_BUFFER::buffer));
  }
  return 512;
}

std::string IdOf(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "id:%08X", value);
  return text;
}

}  // namespace

TpmResult<Bytes> ReadEkCertificate(ESYS_CONTEXT* esys, TPM2_HANDLE index) {
  ESYS_TR nv = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_TR_FromTPMPublic(EK certificate)");
    if (BaseRc(rc) == TPM2_RC_HANDLE) {
      error.kind = TpmErrorKind::kRefused;
      error.message = "this TPM has no EK certificate in NV (its maker provisioned none)";
    }
    return error;
  }
  NvCloser closer{esys, nv};
  TPM2B_NV_PUBLIC* pub = nullptr;
  rc = Esys_NV_ReadPublic(esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, nullptr);
  EsysPtr<TPM2B_NV_PUBLIC> owned_pub(pub);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_NV_ReadPublic(EK certificate)");
  const uint16_t size = owned_pub->nvPublic.dataSize;
  const uint32_t chunk = NvBufferMax(esys);
  Bytes der;
  der.reserve(size);
  while (der.size() < size) {
    const auto want = static_cast<UINT16>(std::min<size_t>(chunk, size - der.size()));
    TPM2B_MAX_NV_BUFFER* data = nullptr;
    rc = Esys_NV_Read(esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, want,
                      static_cast<UINT16>(der.size()), &data);
    EsysPtr<TPM2B_MAX_NV_BUFFER> owned(data);
    if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_NV_Read(EK certificate)");
    if (owned->size == 0) break;
    der.insert(der.end(), owned->buffer, owned->buffer + owned->size);
  }
  // The DER may be followed by padding: keep exactly one certificate.
  const unsigned char* p = der.data();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!cert) return TpmFail(TpmErrorKind::kRefused, "the EK certificate in NV is not DER X.509");
  X509_free(cert);
  der.resize(static_cast<size_t>(p - der.data()));
  return der;
}

TPM2_HANDLE EkCertificateIndex(EkKind kind) {
  return kind == EkKind::kEcc ? kEccEkCertificateIndex : kRsaEkCertificateIndex;
}

TPM2_HANDLE EkHandle(EkKind kind) { return kind == EkKind::kEcc ? kEccEkHandle : kRsaEkHandle; }

const char* EkKindName(EkKind kind) { return kind == EkKind::kEcc ? "ecc" : "rsa"; }

TpmResult<EndorsementKey> OpenEndorsementKey(ESYS_CONTEXT* esys, EkKind kind) {
  const bool ecc = kind == EkKind::kEcc;
  char where[16];
  std::snprintf(where, sizeof(where), "0x%08x", EkHandle(kind));
  EndorsementKey ek;
  TSS2_RC rc = Esys_TR_FromTPMPublic(esys, EkHandle(kind), ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &ek.handle);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_TR_FromTPMPublic(EK)");
    if (BaseRc(rc) == TPM2_RC_HANDLE) {
      error.kind = TpmErrorKind::kRefused;
      error.message = std::string("no ") + (ecc ? "ECC" : "RSA") + " EK at " + where +
                      " (create it with tpm2_createek -c " + where + " -G " + EkKindName(kind) +
                      ")";
    }
    return error;
  }
  TPM2B_PUBLIC* pub = nullptr;
  rc = Esys_ReadPublic(esys, ek.handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, nullptr,
                       nullptr);
  EsysPtr<TPM2B_PUBLIC> owned(pub);
  if (rc != TSS2_RC_SUCCESS) {
    Esys_TR_Close(esys, &ek.handle);
    return FromRc(rc, "Esys_ReadPublic(EK)");
  }
  ek.public_area = *owned;
  constexpr TPMA_OBJECT kEk = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                              TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  const TPMT_PUBLIC& area = ek.public_area.publicArea;
  const bool type_ok =
      ecc ? area.type == TPM2_ALG_ECC && area.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256
          : area.type == TPM2_ALG_RSA;
  if (!type_ok || (area.objectAttributes & kEk) != kEk ||
      (area.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) || area.nameAlg != TPM2_ALG_SHA256) {
    Esys_TR_Close(esys, &ek.handle);
    return TpmFail(TpmErrorKind::kRefused,
                   std::string("the key at ") + where + " is not an " +
                       (ecc ? "ECC P-256" : "RSA") +
                       " endorsement key (restricted decryption, fixedTPM, SHA-256)");
  }
  return ek;
}

TpmResult<TransientHandle> StartEkPolicySession(ESYS_CONTEXT* esys) {
  auto session = StartPolicySession(esys);
  if (!session) return session.error();
  TSS2_RC rc = Esys_PolicySecret(esys, ESYS_TR_RH_ENDORSEMENT, session->get(), ESYS_TR_PASSWORD,
                                 ESYS_TR_NONE, ESYS_TR_NONE, nullptr, nullptr, nullptr, 0, nullptr,
                                 nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_PolicySecret(endorsement)");
    if (error.kind == TpmErrorKind::kWrongPin) {
      error.kind = TpmErrorKind::kRefused;
      error.message = "the endorsement hierarchy has an authorization set (" + error.message + ")";
    }
    return error;
  }
  return session;
}

TpmResult<TpmIdentity> ReadTpmIdentity(ESYS_CONTEXT* esys) {
  std::map<TPM2_PT, uint32_t> values;
  TPM2_PT next = TPM2_PT_MANUFACTURER;
  for (int round = 0; round < 4 && next <= TPM2_PT_FIRMWARE_VERSION_1; ++round) {
    TPMS_CAPABILITY_DATA* data = nullptr;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_TPM_PROPERTIES, next,
                                    TPM2_PT_FIRMWARE_VERSION_1 - next + 1, &more, &data);
    EsysPtr<TPMS_CAPABILITY_DATA> owned(data);
    if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_GetCapability(TPM properties)");
    const TPML_TAGGED_TPM_PROPERTY& list = owned->data.tpmProperties;
    if (list.count == 0) break;
    for (UINT32 i = 0; i < list.count; ++i) values[list.tpmProperty[i].property] = list.tpmProperty[i].value;
    next = list.tpmProperty[list.count - 1].property + 1;
    if (!more) break;
  }
  if (!values.count(TPM2_PT_MANUFACTURER) || !values.count(TPM2_PT_FIRMWARE_VERSION_1)) {
    return TpmFail(TpmErrorKind::kRefused, "the TPM did not report its manufacturer and version");
  }
  TpmIdentity identity;
  identity.manufacturer = IdOf(values[TPM2_PT_MANUFACTURER]);
  identity.version = IdOf(values[TPM2_PT_FIRMWARE_VERSION_1]);
  for (TPM2_PT pt = TPM2_PT_VENDOR_STRING_1; pt <= TPM2_PT_VENDOR_STRING_4; ++pt) {
    const uint32_t v = values.count(pt) ? values[pt] : 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
      const char c = static_cast<char>((v >> shift) & 0xff);
      if (c != '\0') identity.model.push_back(c);
    }
  }
  if (identity.model.empty()) identity.model = "unknown";
  return identity;
}

}  // namespace tpmauthn::tpm
