// The attestation key on ESAPI (TPM 2.0 Part 3: §12.1 Create, §12.2 Load,
// §12.5 ActivateCredential, §18.2 Certify).
#include "tpm/attestation_key.h"

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "tpm/endorsement.h"
#include "webauthn/base64url.h"
#include "tpm/marshal.h"
#include "webauthn/client_data.h"

namespace tpmauthn::tpm {
namespace {

using webauthn::Bytes;

TPM2B_PUBLIC Template() {
  TPM2B_PUBLIC in{};
  TPMT_PUBLIC& area = in.publicArea;
  area.type = TPM2_ALG_RSA;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                          TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_NODA;
  area.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  area.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
  area.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
  area.parameters.rsaDetail.keyBits = 2048;
  area.parameters.rsaDetail.exponent = 0;
  return in;
}

// Closes an ESYS_TR for a persistent object (nothing to flush).
struct TrCloser {
  ESYS_CONTEXT* esys = nullptr;
  ESYS_TR handle = ESYS_TR_NONE;
  TrCloser() = default;
  TrCloser(const TrCloser&) = delete;
  TrCloser& operator=(const TrCloser&) = delete;
  ~TrCloser() {
    if (handle != ESYS_TR_NONE) Esys_TR_Close(esys, &handle);
  }
};

// The EK, opened, with a policy session that satisfies its policy for one
// command (the TPM closes it after that command).
struct EkAuthorization {
  TrCloser ek;
  TransientHandle session;
};

TpmResult<std::unique_ptr<EkAuthorization>> AuthorizeEk(ESYS_CONTEXT* esys, EkKind kind) {
  auto ek = OpenEndorsementKey(esys, kind);
  if (!ek) return ek.error();
  auto out = std::make_unique<EkAuthorization>();
  out->ek.esys = esys;
  out->ek.handle = ek->handle;
  auto session = StartEkPolicySession(esys);
  if (!session) return session.error();
  TSS2_RC rc = Esys_TRSess_SetAttributes(esys, session->get(), 0, TPMA_SESSION_CONTINUESESSION);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TRSess_SetAttributes");
  out->session = std::move(*session);
  return out;
}

TpmError RecordError(const std::string& why) {
  return TpmFail(TpmErrorKind::kStore, std::string(kAttestationKeyFile) + ": " + why);
}

}  // namespace

TpmResult<std::optional<AttestationKeyRecord>> LoadAttestationKeyRecord(const KeyStore& store) {
  auto text = store.ReadStoreFile(kAttestationKeyFile);
  if (!text) return text.error();
  if (!*text) return std::optional<AttestationKeyRecord>();
  auto record = ParseAttestationKeyRecord(**text);
  if (!record) return record.error();
  return std::optional<AttestationKeyRecord>(std::move(*record));
}

TpmResult<AttestationKeyRecord> ParseAttestationKeyRecord(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return RecordError("not a JSON object");
  static const std::set<std::string> kMembers = {"format", "version", "ek",
                                                 "public", "private", "chain"};
  for (const auto& [key, value] : j.items()) {
    if (!kMembers.count(key)) return RecordError("unknown member \"" + key + "\"");
  }
  auto format = j.find("format");
  auto version = j.find("version");
  if (format == j.end() || !format->is_string() ||
      format->get_ref<const std::string&>() != "tpmauthn-attestation-key" ||
      version == j.end() || !version->is_number_unsigned() || version->get<uint64_t>() != 1) {
    return RecordError("not a version 1 tpmauthn-attestation-key file");
  }
  auto bytes = [](const nlohmann::json& value) -> std::optional<Bytes> {
    if (!value.is_string()) return std::nullopt;
    auto decoded = webauthn::Base64UrlDecode(value.get_ref<const std::string&>());
    if (!decoded || decoded->empty()) return std::nullopt;
    return std::move(*decoded);
  };
  AttestationKeyRecord record;
  auto pub = j.find("public");
  auto priv = j.find("private");
  auto chain = j.find("chain");
  std::optional<Bytes> pub_bytes, priv_bytes;
  if (pub != j.end()) pub_bytes = bytes(*pub);
  if (priv != j.end()) priv_bytes = bytes(*priv);
  if (!pub_bytes || !priv_bytes || chain == j.end() || !chain->is_array()) {
    return RecordError("public, private or chain missing or mistyped");
  }
  EkKind ek = EkKind::kRsa;
  if (auto kind = j.find("ek"); kind != j.end()) {
    if (*kind == "ecc") {
      ek = EkKind::kEcc;
    } else if (*kind != "rsa") {
      return RecordError("ek is neither \"rsa\" nor \"ecc\"");
    }
  }
  record.blob = AttestationKeyBlob{std::move(*pub_bytes), std::move(*priv_bytes), ek};
  for (const auto& cert : *chain) {
    auto der = bytes(cert);
    if (!der) return RecordError("a chain entry is not base64url");
    record.chain.push_back(std::move(*der));
  }
  return record;
}

std::string SerializeAttestationKeyRecord(const AttestationKeyRecord& record) {
  nlohmann::ordered_json chain = nlohmann::ordered_json::array();
  for (const Bytes& der : record.chain) chain.push_back(webauthn::Base64UrlEncode(der));
  nlohmann::ordered_json j = {{"format", "tpmauthn-attestation-key"},
                              {"version", 1},
                              {"ek", EkKindName(record.blob.ek)},
                              {"public", webauthn::Base64UrlEncode(record.blob.public_blob)},
                              {"private", webauthn::Base64UrlEncode(record.blob.private_blob)},
                              {"chain", std::move(chain)}};
  return j.dump(1) + "\n";
}

TpmResult<void> SaveAttestationKeyRecord(const KeyStore& store, const AttestationKeyRecord& record) {
  return store.WriteStoreFile(kAttestationKeyFile, SerializeAttestationKeyRecord(record));
}

TpmResult<AttestationKeyBlob> CreateAttestationKey(ESYS_CONTEXT* esys, EkKind kind) {
  auto ek = AuthorizeEk(esys, kind);
  if (!ek) return ek.error();
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_PUBLIC in_public = Template();
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcr{};
  TPM2B_PRIVATE* out_private = nullptr;
  TPM2B_PUBLIC* out_public = nullptr;
  TSS2_RC rc = Esys_Create(esys, (*ek)->ek.handle, (*ek)->session.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                           &sensitive, &in_public, &outside, &creation_pcr, &out_private,
                           &out_public, nullptr, nullptr, nullptr);
  EsysPtr<TPM2B_PRIVATE> priv(out_private);
  EsysPtr<TPM2B_PUBLIC> pub(out_public);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_Create(attestation key)");
  (*ek)->session.Forget();  // closed by the TPM (continueSession clear)
  return AttestationKeyBlob{MarshalToBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Marshal>(*pub),
                            MarshalToBytes<TPM2B_PRIVATE, Tss2_MU_TPM2B_PRIVATE_Marshal>(*priv),
                            kind};
}

TpmResult<Bytes> AttestationKeyName(const AttestationKeyBlob& blob) {
  auto pub = UnmarshalFromBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Unmarshal>(
      blob.public_blob, "attestation key public area");
  if (!pub) return pub.error();
  Bytes area(sizeof(TPMT_PUBLIC));
  size_t offset = 0;
  if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, area.data(), area.size(), &offset) !=
      TSS2_RC_SUCCESS) {
    return TpmFail(TpmErrorKind::kStore, "cannot marshal the attestation key's public area");
  }
  area.resize(offset);
  Bytes name = {static_cast<uint8_t>(TPM2_ALG_SHA256 >> 8),
                static_cast<uint8_t>(TPM2_ALG_SHA256 & 0xff)};
  const Bytes digest = webauthn::Sha256(area);
  name.insert(name.end(), digest.begin(), digest.end());
  return name;
}

TpmResult<TransientHandle> LoadAttestationKey(ESYS_CONTEXT* esys, const AttestationKeyBlob& blob) {
  auto pub = UnmarshalFromBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Unmarshal>(
      blob.public_blob, "attestation key public area");
  if (!pub) return pub.error();
  auto priv = UnmarshalFromBytes<TPM2B_PRIVATE, Tss2_MU_TPM2B_PRIVATE_Unmarshal>(
      blob.private_blob, "attestation key private area");
  if (!priv) return priv.error();
  auto ek = AuthorizeEk(esys, blob.ek);
  if (!ek) return ek.error();
  ESYS_TR loaded = ESYS_TR_NONE;
  TSS2_RC rc = Esys_Load(esys, (*ek)->ek.handle, (*ek)->session.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                         &*priv, &*pub, &loaded);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_Load(attestation key)");
    if (error.kind == TpmErrorKind::kWrongTpm) {
      error.message += " (the attestation key in this store was made by another TPM: run "
                       "tpmauthn attestation-key request again after removing attestation.json)";
    }
    return error;
  }
  (*ek)->session.Forget();
  return TransientHandle(esys, loaded);
}

TpmResult<webauthn::SecretBytes> ActivateCredential(ESYS_CONTEXT* esys,
                                                    const AttestationKeyBlob& blob,
                                                    webauthn::ByteView id_object,
                                                    webauthn::ByteView encrypted_secret) {
  TPM2B_ID_OBJECT credential_blob{};
  size_t offset = 0;
  if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(id_object.data(), id_object.size(), &offset,
                                        &credential_blob) != TSS2_RC_SUCCESS ||
      offset != id_object.size()) {
    return TpmFail(TpmErrorKind::kRefused, "the credential blob is not a TPM2B_ID_OBJECT");
  }
  TPM2B_ENCRYPTED_SECRET secret{};
  offset = 0;
  if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(encrypted_secret.data(), encrypted_secret.size(),
                                               &offset, &secret) != TSS2_RC_SUCCESS ||
      offset != encrypted_secret.size()) {
    return TpmFail(TpmErrorKind::kRefused, "the secret is not a TPM2B_ENCRYPTED_SECRET");
  }
  auto ak = LoadAttestationKey(esys, blob);
  if (!ak) return ak.error();
  auto ek = AuthorizeEk(esys, blob.ek);
  if (!ek) return ek.error();
  TPM2B_DIGEST* recovered = nullptr;
  TSS2_RC rc = Esys_ActivateCredential(esys, ak->get(), (*ek)->ek.handle, ESYS_TR_PASSWORD,
                                       (*ek)->session.get(), ESYS_TR_NONE, &credential_blob,
                                       &secret, &recovered);
  EsysPtr<TPM2B_DIGEST> owned(recovered);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_ActivateCredential");
    if (error.kind == TpmErrorKind::kWrongTpm) {
      error.kind = TpmErrorKind::kRefused;
      error.message += " (made for another TPM's EK or another attestation key)";
    }
    return error;
  }
  (*ek)->session.Forget();
  webauthn::SecretBytes out{webauthn::ByteView(owned->buffer, owned->size)};
  OPENSSL_cleanse(owned->buffer, owned->size);
  return out;
}

TpmResult<Certification> Certify(ESYS_CONTEXT* esys, ESYS_TR ak, ESYS_TR object,
                                 ESYS_TR object_session, webauthn::ByteView qualifying_data) {
  TPM2B_DATA qualifying{};
  if (qualifying_data.size() > sizeof(qualifying.buffer)) {
    return TpmFail(TpmErrorKind::kRefused, "qualifying data too long");
  }
  qualifying.size = static_cast<UINT16>(qualifying_data.size());
  std::copy(qualifying_data.begin(), qualifying_data.end(), qualifying.buffer);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;  // the AK's own: RSASSA-SHA256
  TPM2B_ATTEST* attest = nullptr;
  TPMT_SIGNATURE* signature = nullptr;
  TSS2_RC rc = Esys_Certify(esys, object, ak, object_session, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            &qualifying, &scheme, &attest, &signature);
  EsysPtr<TPM2B_ATTEST> owned_attest(attest);
  EsysPtr<TPMT_SIGNATURE> owned_signature(signature);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_Certify");
  if (owned_signature->sigAlg != TPM2_ALG_RSASSA) {
    return TpmFail(TpmErrorKind::kRefused, "the attestation key did not sign with RSASSA");
  }
  const TPM2B_PUBLIC_KEY_RSA& sig = owned_signature->signature.rsassa.sig;
  return Certification{
      Bytes(owned_attest->attestationData, owned_attest->attestationData + owned_attest->size),
      Bytes(sig.buffer, sig.buffer + sig.size)};
}

}  // namespace tpmauthn::tpm
