// The attestation CA's checks and certificates (see issuer.h).
#include "attestation_ca/issuer.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include <cctype>

#include "attestation_ca/make_credential.h"
#include "webauthn/client_data.h"
#include "webauthn/secret.h"
#include "webauthn/x509.h"

namespace tpmauthn::attestation_ca {
namespace {

using webauthn::Bytes;
using webauthn::ByteView;

using BioPtr = std::unique_ptr<BIO, webauthn::OpenSslDeleter<BIO_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, webauthn::OpenSslDeleter<ASN1_OBJECT_free>>;

CaResult<TPMT_PUBLIC> PublicArea(ByteView marshalled, const char* what) {
  TPM2B_PUBLIC pub{};
  size_t offset = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(marshalled.data(), marshalled.size(), &offset, &pub) !=
          TSS2_RC_SUCCESS ||
      offset != marshalled.size()) {
    return CaFail(std::string(what) + " is not a TPM2B_PUBLIC");
  }
  return pub.publicArea;
}

// A big-number parameter of `key` ("n", "qx", "qy"), big-endian, left-padded
// to `width` bytes (0: its own length); empty when the key has none.
Bytes BigParam(EVP_PKEY* key, const char* name, size_t width = 0) {
  BIGNUM* raw = nullptr;
  if (!key || EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  webauthn::BignumPtr n(raw);
  const size_t size = width ? width : static_cast<size_t>(BN_num_bytes(n.get()));
  Bytes out(size);
  if (BN_bn2binpad(n.get(), out.data(), static_cast<int>(size)) < 0) return {};
  return out;
}

Bytes Padded(const TPM2B_ECC_PARAMETER& coordinate, size_t width) {
  if (coordinate.size > width) return {};
  Bytes out(width - coordinate.size, 0);
  out.insert(out.end(), coordinate.buffer, coordinate.buffer + coordinate.size);
  return out;
}

// Whether the certificate's key is the EK's: the same RSA modulus, or the
// same point on P-256.
bool SameKey(EVP_PKEY* certified, const TPMT_PUBLIC& ek) {
  if (ek.type == TPM2_ALG_RSA) {
    const Bytes from_cert = BigParam(certified, OSSL_PKEY_PARAM_RSA_N);
    return !from_cert.empty() && from_cert == Bytes(ek.unique.rsa.buffer,
                                                    ek.unique.rsa.buffer + ek.unique.rsa.size);
  }
  char group[32] = {};
  if (EVP_PKEY_get_utf8_string_param(certified, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     nullptr) != 1 ||
      std::string_view(group) != "prime256v1") {
    return false;
  }
  const Bytes x = BigParam(certified, OSSL_PKEY_PARAM_EC_PUB_X, 32);
  const Bytes y = BigParam(certified, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
  return !x.empty() && !y.empty() && x == Padded(ek.unique.ecc.x, 32) &&
         y == Padded(ek.unique.ecc.y, 32);
}

bool IsId(const std::string& text) {
  if (text.size() != 11 || text.compare(0, 3, "id:") != 0) return false;
  for (size_t i = 3; i < text.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(text[i])) ||
        std::islower(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

bool IsModel(const std::string& text) {
  if (text.empty() || text.size() > 16) return false;
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

CaResult<void> CheckEk(const AttestationRequest& request, const std::vector<Bytes>& ek_roots,
                       std::time_t now) {
  webauthn::X509Ptr cert = webauthn::ParseCertificate(request.ek_certificate);
  if (!cert) return CaFail("the EK certificate is not DER X.509");
  std::vector<webauthn::X509Ptr> chain;
  chain.push_back(std::move(cert));
  if (auto problem = webauthn::ChainToAnchorProblem(chain, ek_roots, now)) {
    return CaFail("the EK certificate does not chain to a trusted EK root: " + *problem);
  }
  auto ek = PublicArea(request.ek_public, "ekPublic");
  if (!ek) return ek.error();
  constexpr TPMA_OBJECT kEk = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                              TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  const bool ecc_p256 =
      ek->type == TPM2_ALG_ECC && ek->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256;
  if ((ek->type != TPM2_ALG_RSA && !ecc_p256) || (ek->objectAttributes & kEk) != kEk ||
      (ek->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT)) {
    return CaFail("ekPublic is not an RSA or P-256 restricted decryption key fixed to its TPM");
  }
  if (!SameKey(X509_get0_pubkey(chain[0].get()), *ek)) {
    return CaFail("ekPublic is not the key of the EK certificate (another TPM's certificate?)");
  }
  return {};
}

CaResult<TPMT_PUBLIC> CheckAk(const AttestationRequest& request) {
  auto ak = PublicArea(request.ak_public, "akPublic");
  if (!ak) return ak.error();
  constexpr TPMA_OBJECT kAk = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                              TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
                              TPMA_OBJECT_SIGN_ENCRYPT;
  const TPMS_RSA_PARMS& rsa = ak->parameters.rsaDetail;
  if (ak->type != TPM2_ALG_RSA || ak->nameAlg != TPM2_ALG_SHA256 ||
      (ak->objectAttributes & kAk) != kAk || (ak->objectAttributes & TPMA_OBJECT_DECRYPT) ||
      rsa.scheme.scheme != TPM2_ALG_RSASSA || rsa.scheme.details.rsassa.hashAlg != TPM2_ALG_SHA256 ||
      rsa.keyBits != 2048 || ak->unique.rsa.size != 256 ||
      (rsa.exponent != 0 && rsa.exponent != 65537)) {
    return CaFail("akPublic is not an RSA 2048 restricted signing key (RSASSA-SHA-256) fixed "
                  "to its TPM with a TPM-made secret");
  }
  return *ak;
}

Bytes NameOf(const TPMT_PUBLIC& area) {
  Bytes marshalled(sizeof(TPMT_PUBLIC));
  size_t offset = 0;
  Tss2_MU_TPMT_PUBLIC_Marshal(&area, marshalled.data(), marshalled.size(), &offset);
  marshalled.resize(offset);
  Bytes name = {0x00, 0x0b};  // TPM_ALG_SHA256
  const Bytes digest = webauthn::Sha256(marshalled);
  name.insert(name.end(), digest.begin(), digest.end());
  return name;
}

bool AddExtension(X509* cert, int nid, void* value, bool critical) {
  return X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) == 1;
}

bool AddConfExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  const bool ok = ext && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool RandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x40;  // and 16 bytes long
  webauthn::BignumPtr bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool AddTcgSan(X509* cert, const AttestationRequest& request) {
  X509_NAME* device = X509_NAME_new();
  if (!device) return false;
  bool ok = true;
  for (const auto& [oid, value] : {std::pair<const char*, const std::string*>{
                                       "2.23.133.2.1", &request.manufacturer},
                                   {"2.23.133.2.2", &request.model},
                                   {"2.23.133.2.3", &request.firmware_version}}) {
    Asn1ObjectPtr object(OBJ_txt2obj(oid, 1));
    ok = ok && object &&
         X509_NAME_add_entry_by_OBJ(device, object.get(), MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value->data()),
                                    static_cast<int>(value->size()), -1, 0) == 1;
  }
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  GENERAL_NAME* dir = GENERAL_NAME_new();
  if (!ok || !names || !dir) {
    X509_NAME_free(device);
    GENERAL_NAME_free(dir);
    GENERAL_NAMES_free(names);
    return false;
  }
  GENERAL_NAME_set0_value(dir, GEN_DIRNAME, device);
  sk_GENERAL_NAME_push(names, dir);
  ok = AddExtension(cert, NID_subject_alt_name, names, /*critical=*/true);
  GENERAL_NAMES_free(names);
  return ok;
}

CaResult<Bytes> IssueCertificate(const CaMaterial& ca, EVP_PKEY* ak_key,
                                 const AttestationRequest& request, std::time_t now, long days) {
  webauthn::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !RandomSerial(cert.get()) ||
      !X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0, &now) ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.certificate.get())) != 1 ||
      X509_set_pubkey(cert.get(), ak_key) != 1) {
    return CaFail("cannot build the AIK certificate");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.certificate.get(), cert.get(), nullptr, nullptr, 0);
  EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
  ASN1_OBJECT* aik_purpose = OBJ_txt2obj("2.23.133.8.3", 1);
  const bool eku_ok = eku && aik_purpose && sk_ASN1_OBJECT_push(eku, aik_purpose) > 0;
  if (!eku_ok) ASN1_OBJECT_free(aik_purpose);
  const bool ok = eku_ok && AddTcgSan(cert.get(), request) &&
                  AddExtension(cert.get(), NID_ext_key_usage, eku, false) &&
                  AddConfExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
                  AddConfExtension(cert.get(), &ctx, NID_key_usage,
                                   "critical,digitalSignature") &&
                  AddConfExtension(cert.get(), &ctx, NID_authority_key_identifier,
                                   "keyid:always") &&
                  X509_sign(cert.get(), ca.key.get(), EVP_sha256()) > 0;
  sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  if (!ok) return CaFail("cannot sign the AIK certificate");
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  if (length <= 0) return CaFail("cannot encode the AIK certificate");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

}  // namespace

CaResult<CaMaterial> GenerateCa(const std::string& common_name) {
  CaMaterial ca;
  ca.key.reset(EVP_RSA_gen(2048));
  ca.certificate.reset(X509_new());
  X509_NAME* name = X509_NAME_new();
  const bool built =
      ca.key && ca.certificate && name &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) == 1 &&
      X509_set_version(ca.certificate.get(), 2) == 1 && RandomSerial(ca.certificate.get()) &&
      X509_gmtime_adj(X509_getm_notBefore(ca.certificate.get()), -3600) &&
      X509_gmtime_adj(X509_getm_notAfter(ca.certificate.get()), 20L * 365 * 86400) &&
      X509_set_subject_name(ca.certificate.get(), name) == 1 &&
      X509_set_issuer_name(ca.certificate.get(), name) == 1 &&
      X509_set_pubkey(ca.certificate.get(), ca.key.get()) == 1;
  X509_NAME_free(name);
  if (!built) return CaFail("cannot make the CA key and certificate");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.certificate.get(), ca.certificate.get(), nullptr, nullptr, 0);
  if (!AddConfExtension(ca.certificate.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
      !AddConfExtension(ca.certificate.get(), &ctx, NID_key_usage,
                        "critical,keyCertSign,cRLSign") ||
      !AddConfExtension(ca.certificate.get(), &ctx, NID_subject_key_identifier, "hash") ||
      X509_sign(ca.certificate.get(), ca.key.get(), EVP_sha256()) <= 0) {
    return CaFail("cannot sign the CA certificate");
  }
  return ca;
}

std::string PrivateKeyPem(const CaMaterial& ca) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), ca.key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return {};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(size));
  OPENSSL_cleanse(data, static_cast<size_t>(size));
  return out;
}

std::string CertificatePem(const CaMaterial& ca) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), ca.certificate.get()) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

CaResult<CaMaterial> LoadCa(std::string_view key_pem, std::string_view certificate_pem) {
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  BioPtr cert_bio(
      BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())));
  CaMaterial ca;
  if (key_bio) ca.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (cert_bio) ca.certificate.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!ca.key || !ca.certificate) return CaFail("the CA's key or certificate does not parse");
  if (X509_check_private_key(ca.certificate.get(), ca.key.get()) != 1) {
    return CaFail("the CA's key is not its certificate's");
  }
  return ca;
}

CaResult<Issued> Issue(const CaMaterial& ca, const std::vector<Bytes>& ek_roots,
                       const AttestationRequest& request, std::time_t now, long days) {
  if (auto ok = CheckEk(request, ek_roots, now); !ok) return ok.error();
  auto ak = CheckAk(request);
  if (!ak) return ak.error();
  if (!IsId(request.manufacturer) || !IsId(request.firmware_version) || !IsModel(request.model)) {
    return CaFail("manufacturer, model or firmwareVersion is malformed");
  }
  auto ak_key = RsaPublicKey(*ak);
  if (!ak_key) return ak_key.error();
  auto certificate = IssueCertificate(ca, ak_key->get(), request, now, days);
  if (!certificate) return certificate.error();

  Bytes credential_bytes(32), iv(12);
  if (RAND_bytes(credential_bytes.data(), 32) != 1 || RAND_bytes(iv.data(), 12) != 1) {
    return CaFail("the random generator failed");
  }
  webauthn::SecretBytes credential{ByteView(credential_bytes)};
  OPENSSL_cleanse(credential_bytes.data(), credential_bytes.size());
  auto ek = PublicArea(request.ek_public, "ekPublic");
  const Bytes name = NameOf(*ak);
  auto sealed = MakeCredential(*ek, name, credential.bytes());
  if (!sealed) return sealed.error();
  auto encrypted = SealCertificate(credential, *certificate, iv);
  if (!encrypted) return encrypted.error();
  Issued out;
  out.response = AttestationResponse{name, std::move(sealed->id_object),
                                     std::move(sealed->encrypted_secret), std::move(iv),
                                     std::move(*encrypted)};
  out.certificate = std::move(*certificate);
  return out;
}

}  // namespace tpmauthn::attestation_ca
