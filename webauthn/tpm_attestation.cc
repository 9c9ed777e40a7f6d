// The "tpm" attestation statement format, WebAuthn L3 §8.3 (tpm_attestation.h).
#include "webauthn/tpm_attestation.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include <algorithm>
#include <cctype>

#include "webauthn/cbor.h"
#include "webauthn/x509.h"

namespace tpmauthn::webauthn {
namespace {

using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using EkuPtr = std::unique_ptr<EXTENDED_KEY_USAGE, OpenSslDeleter<EXTENDED_KEY_USAGE_free>>;
using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, OpenSslDeleter<BASIC_CONSTRAINTS_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpenSslDeleter<ASN1_OBJECT_free>>;

// TCG EK Credential Profile §3.2.9 / TCG "Trusted Computing Group OIDs".
constexpr const char* kOidTpmManufacturer = "2.23.133.2.1";
constexpr const char* kOidTpmModel = "2.23.133.2.2";
constexpr const char* kOidTpmVersion = "2.23.133.2.3";
constexpr const char* kOidAikCertificate = "2.23.133.8.3";  // tcg-kp-AIKCertificate

Error ObjectError(std::string message) {
  return Fail(Check::kAttestationObject, "attestationObject: " + std::move(message));
}
Error RuleError(TpmRule rule, const std::string& message) {
  return Fail(Check::kAttestationStatement,
              "attStmt: tpm " + std::string(ToString(rule)) + ": " + message);
}

// The hash a COSE signature algorithm uses; nullptr for ones not verified.
const char* HashOf(int64_t alg) {
  switch (alg) {
    case static_cast<int64_t>(CoseAlgorithm::kRS256):
    case static_cast<int64_t>(CoseAlgorithm::kES256):
      return "SHA256";
    default:
      return nullptr;
  }
}

const char* HashOfNameAlg(TPM2_ALG_ID alg) {
  switch (alg) {
    case TPM2_ALG_SHA1:
      return "SHA1";
    case TPM2_ALG_SHA256:
      return "SHA256";
    case TPM2_ALG_SHA384:
      return "SHA384";
    case TPM2_ALG_SHA512:
      return "SHA512";
    default:
      return nullptr;
  }
}

Bytes Digest(const char* hash, ByteView data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &length,
                 EVP_get_digestbyname(hash), nullptr) != 1) {
    return {};
  }
  out.resize(length);
  return out;
}

// A TPM2B's bytes as an unsigned big number equals `param` of `key`.
bool SameNumber(EVP_PKEY* key, const char* param, const uint8_t* bytes, size_t size) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) return false;
  BignumPtr mine(raw);
  BignumPtr theirs(BN_bin2bn(bytes, static_cast<int>(size), nullptr));
  return theirs && BN_cmp(mine.get(), theirs.get()) == 0;
}

// §8.3 step 2: pubArea's parameters and unique are the credential public key.
std::optional<std::string> PubAreaKeyProblem(const TPMT_PUBLIC& pub, const CoseKey& key) {
  EVP_PKEY* pkey = key.pkey();
  switch (key.algorithm()) {
    case CoseAlgorithm::kES256: {
      if (pub.type != TPM2_ALG_ECC) return "the credential key is EC2, pubArea is not TPM_ALG_ECC";
      if (pub.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256) {
        return "pubArea's curve is not TPM_ECC_NIST_P256";
      }
      const TPMS_ECC_POINT& point = pub.unique.ecc;
      if (!SameNumber(pkey, OSSL_PKEY_PARAM_EC_PUB_X, point.x.buffer, point.x.size) ||
          !SameNumber(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, point.y.buffer, point.y.size)) {
        return "pubArea's point is not the credential public key";
      }
      return std::nullopt;
    }
    case CoseAlgorithm::kRS256: {
      if (pub.type != TPM2_ALG_RSA) return "the credential key is RSA, pubArea is not TPM_ALG_RSA";
      // exponent 0 means the default, 2^16 + 1 (TPM 2.0 Part 2, TPMS_RSA_PARMS).
      const uint32_t exponent = pub.parameters.rsaDetail.exponent == 0
                                    ? 65537u
                                    : pub.parameters.rsaDetail.exponent;
      const uint8_t e[4] = {static_cast<uint8_t>(exponent >> 24),
                            static_cast<uint8_t>(exponent >> 16),
                            static_cast<uint8_t>(exponent >> 8), static_cast<uint8_t>(exponent)};
      if (!SameNumber(pkey, OSSL_PKEY_PARAM_RSA_E, e, sizeof e)) {
        return "pubArea's exponent is not the credential key's";
      }
      const TPM2B_PUBLIC_KEY_RSA& n = pub.unique.rsa;
      if (!SameNumber(pkey, OSSL_PKEY_PARAM_RSA_N, n.buffer, n.size)) {
        return "pubArea's modulus is not the credential public key";
      }
      return std::nullopt;
    }
    case CoseAlgorithm::kEdDSA:
      return "an EdDSA credential key cannot be a TPM key";
  }
  return "unknown credential key type";
}

std::optional<std::string> NameValue(X509_NAME* name, const char* oid) {
  Asn1ObjectPtr object(OBJ_txt2obj(oid, 1));
  if (!object) return std::nullopt;
  const int index = X509_NAME_get_index_by_OBJ(name, object.get(), -1);
  if (index < 0) return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

// "id:" and 8 hex digits: how the EK profile writes TPM_PT_MANUFACTURER.
bool IsVendorId(const std::string& value) {
  return value.size() == 11 && value.compare(0, 3, "id:") == 0 &&
         std::all_of(value.begin() + 3, value.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// §8.3.1: the AIK certificate's requirements. The device it names, or the
// rule it breaks.
Result<TpmDevice> CheckAikCertificate(X509* cert, const AuthenticatorData& auth_data) {
  if (X509_get_version(cert) != 2) return RuleError(TpmRule::kCertVersion, "not X.509 v3");
  if (X509_NAME_entry_count(X509_get_subject_name(cert)) != 0) {
    return RuleError(TpmRule::kCertSubject, "the subject is not empty");
  }
  // Subject Alternative Name, critical (RFC 5280 §4.2.1.6: the subject is
  // empty), with a directoryName holding manufacturer, model and version.
  int critical = -1;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  if (!names) return RuleError(TpmRule::kCertSan, "no (valid) Subject Alternative Name");
  if (critical != 1) return RuleError(TpmRule::kCertSan, "the Subject Alternative Name is not critical");
  std::optional<TpmDevice> device;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* general = sk_GENERAL_NAME_value(names.get(), i);
    if (general->type != GEN_DIRNAME) continue;
    auto manufacturer = NameValue(general->d.directoryName, kOidTpmManufacturer);
    auto model = NameValue(general->d.directoryName, kOidTpmModel);
    auto version = NameValue(general->d.directoryName, kOidTpmVersion);
    if (manufacturer && model && version) {
      device = TpmDevice{*manufacturer, *model, *version};
      break;
    }
  }
  if (!device) {
    return RuleError(TpmRule::kCertSan,
                     "no directoryName with tcg-at-tpmManufacturer, tpmModel and tpmVersion");
  }
  if (!IsVendorId(device->manufacturer)) {
    return RuleError(TpmRule::kCertSan, "tcg-at-tpmManufacturer \"" + device->manufacturer +
                                            "\" is not id:XXXXXXXX");
  }
  EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
  Asn1ObjectPtr aik_usage(OBJ_txt2obj(kOidAikCertificate, 1));
  bool has_aik_usage = false;
  for (int i = 0; eku && aik_usage && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    has_aik_usage = has_aik_usage || OBJ_cmp(sk_ASN1_OBJECT_value(eku.get(), i), aik_usage.get()) == 0;
  }
  if (!has_aik_usage) {
    return RuleError(TpmRule::kCertEku, "Extended Key Usage lacks 2.23.133.8.3 (tcg-kp-AIKCertificate)");
  }
  BasicConstraintsPtr constraints(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, nullptr, nullptr)));
  if (!constraints) return RuleError(TpmRule::kCertCa, "no Basic Constraints extension");
  if (constraints->ca) return RuleError(TpmRule::kCertCa, "Basic Constraints say cA=true");
  if (auto problem = AaguidExtensionProblem(cert, auth_data)) {
    return RuleError(TpmRule::kCertAaguid, *problem);
  }
  return *device;
}

}  // namespace

std::string_view ToString(TpmRule rule) {
  switch (rule) {
    case TpmRule::kVersion:
      return "ver";
    case TpmRule::kAlgorithm:
      return "alg";
    case TpmRule::kPubArea:
      return "pubArea";
    case TpmRule::kPubAreaKey:
      return "pubArea-key";
    case TpmRule::kCertInfo:
      return "certInfo";
    case TpmRule::kMagic:
      return "magic";
    case TpmRule::kAttestType:
      return "type";
    case TpmRule::kExtraData:
      return "extraData";
    case TpmRule::kAttestedName:
      return "attested-name";
    case TpmRule::kSignature:
      return "sig";
    case TpmRule::kCertVersion:
      return "aik-version";
    case TpmRule::kCertSubject:
      return "aik-subject";
    case TpmRule::kCertSan:
      return "aik-san";
    case TpmRule::kCertEku:
      return "aik-eku";
    case TpmRule::kCertCa:
      return "aik-ca";
    case TpmRule::kCertAaguid:
      return "aik-aaguid";
    case TpmRule::kChain:
      return "chain";
    case TpmRule::kTrustAnchor:
      return "trust-anchor";
  }
  return "?";
}

Bytes TpmName(ByteView pub_area) {
  // TPMT_PUBLIC: type (2 bytes), then nameAlg (2 bytes), big-endian.
  if (pub_area.size() < 4) return {};
  const auto name_alg = static_cast<TPM2_ALG_ID>((pub_area[2] << 8) | pub_area[3]);
  const char* hash = HashOfNameAlg(name_alg);
  if (!hash) return {};
  Bytes name = {pub_area[2], pub_area[3]};
  Bytes digest = Digest(hash, pub_area);
  if (digest.empty()) return {};
  name.insert(name.end(), digest.begin(), digest.end());
  return name;
}

Result<void> ParseTpmStatement(const cbor_item_t* stmt, TpmStatement& out, int64_t& alg,
                               Bytes& sig, std::vector<Bytes>& x5c) {
  cbor_pair* pairs = cbor_map_handle(stmt);
  bool have_alg = false, have_sig = false, have_x5c = false;
  for (size_t i = 0; i < cbor_map_size(stmt); ++i) {
    auto key = cbor::AsText(pairs[i].key);
    if (!key) return ObjectError("tpm attStmt has a non-text key");
    const cbor_item_t* value = pairs[i].value;
    if (*key == "ver") {
      auto ver = cbor::AsText(value);
      if (!ver) return ObjectError("tpm attStmt ver is not text");
      out.ver = *ver;
    } else if (*key == "alg") {
      auto a = cbor::AsInt(value);
      if (!a) return ObjectError("tpm attStmt alg is not an integer");
      alg = *a;
      have_alg = true;
    } else if (*key == "sig" || *key == "certInfo" || *key == "pubArea") {
      auto bytes = cbor::AsBytes(value);
      if (!bytes) return ObjectError("tpm attStmt " + *key + " is not a byte string");
      Bytes& into = *key == "sig" ? sig : *key == "certInfo" ? out.cert_info : out.pub_area;
      into = std::move(*bytes);
      have_sig = have_sig || *key == "sig";
    } else if (*key == "x5c") {
      if (!cbor_isa_array(value) || cbor_array_size(value) == 0) {
        return ObjectError("tpm attStmt x5c is not a non-empty array");
      }
      for (size_t j = 0; j < cbor_array_size(value); ++j) {
        auto cert = cbor::AsBytes(cbor_array_handle(value)[j]);
        if (!cert) return ObjectError("tpm attStmt x5c element is not a byte string");
        x5c.push_back(std::move(*cert));
      }
      have_x5c = true;
    } else if (*key == "ecdaaKeyId") {
      return ObjectError("tpm attStmt ecdaaKeyId: ECDAA is not supported (removed in L3)");
    } else {
      return ObjectError("tpm attStmt member \"" + *key + "\" is not defined");
    }
  }
  if (out.ver.empty() && !cbor::Find(stmt, "ver")) return ObjectError("tpm attStmt lacks ver");
  if (!have_alg || !have_sig || !have_x5c || !cbor::Find(stmt, "certInfo") ||
      !cbor::Find(stmt, "pubArea")) {
    return ObjectError("tpm attStmt needs ver, alg, x5c, sig, certInfo and pubArea");
  }
  return {};
}

Result<VerifiedTpmAttestation> VerifyTpmStatement(const TpmStatement& statement, int64_t alg,
                                                  ByteView sig, const std::vector<Bytes>& x5c,
                                                  ByteView auth_data_bytes,
                                                  const AuthenticatorData& auth_data,
                                                  ByteView client_data_hash,
                                                  const CoseKey& credential_key,
                                                  const AttestationTrust* trust) {
  if (statement.ver != "2.0") {
    return RuleError(TpmRule::kVersion, "ver is \"" + statement.ver + "\", not \"2.0\"");
  }
  const char* hash = HashOf(alg);
  if (!hash) {
    return RuleError(TpmRule::kAlgorithm,
                     "alg " + std::to_string(alg) + " is not one tpmauthn verifies (RS256, ES256)");
  }
  // Step 2: pubArea is the credential public key.
  TPMT_PUBLIC pub{};
  size_t offset = 0;
  if (Tss2_MU_TPMT_PUBLIC_Unmarshal(statement.pub_area.data(), statement.pub_area.size(), &offset,
                                    &pub) != TSS2_RC_SUCCESS ||
      offset != statement.pub_area.size()) {
    return RuleError(TpmRule::kPubArea, "not one whole TPMT_PUBLIC");
  }
  if (auto problem = PubAreaKeyProblem(pub, credential_key)) {
    return RuleError(TpmRule::kPubAreaKey, *problem);
  }
  // Step 4: certInfo. The magic is read before unmarshalling: tpm2-tss 4.x's
  // Tss2_MU_TPMS_ATTEST_Unmarshal refuses a wrong one itself (and logs it).
  const uint8_t kGenerated[4] = {0xff, 0x54, 0x43, 0x47};  // TPM_GENERATED_VALUE
  if (statement.cert_info.size() < 4 ||
      !std::equal(kGenerated, kGenerated + 4, statement.cert_info.begin())) {
    return RuleError(TpmRule::kMagic, "magic is not TPM_GENERATED_VALUE");
  }
  TPMS_ATTEST attest{};
  offset = 0;
  if (Tss2_MU_TPMS_ATTEST_Unmarshal(statement.cert_info.data(), statement.cert_info.size(),
                                    &offset, &attest) != TSS2_RC_SUCCESS ||
      offset != statement.cert_info.size()) {
    return RuleError(TpmRule::kCertInfo, "not one whole TPMS_ATTEST");
  }
  if (attest.type != TPM2_ST_ATTEST_CERTIFY) {
    return RuleError(TpmRule::kAttestType, "type is not TPM_ST_ATTEST_CERTIFY");
  }
  Bytes to_be_signed(auth_data_bytes.begin(), auth_data_bytes.end());
  to_be_signed.insert(to_be_signed.end(), client_data_hash.begin(), client_data_hash.end());
  const Bytes expected_extra = Digest(hash, to_be_signed);
  if (!ConstantTimeEquals(expected_extra,
                          ByteView(attest.extraData.buffer, attest.extraData.size))) {
    return RuleError(TpmRule::kExtraData,
                     std::string("extraData is not the ") + hash + " of authData || clientDataHash");
  }
  const Bytes name = TpmName(statement.pub_area);
  const TPM2B_NAME& attested = attest.attested.certify.name;
  if (name.empty()) {
    return RuleError(TpmRule::kAttestedName, "pubArea's nameAlg is not SHA-1/256/384/512");
  }
  if (!ConstantTimeEquals(name, ByteView(attested.name, attested.size))) {
    return RuleError(TpmRule::kAttestedName, "the attested name is not pubArea's Name");
  }
  // Step 5: sig by the AIK certificate's key.
  auto chain = ParseChain(x5c);
  if (!chain) return RuleError(TpmRule::kChain, "x5c holds a certificate that is not DER X.509");
  EVP_PKEY* aik_key = X509_get0_pubkey((*chain)[0].get());
  if (!aik_key) return RuleError(TpmRule::kSignature, "the AIK certificate has no usable key");
  if (auto ok = VerifyWithAlgorithm(aik_key, static_cast<CoseAlgorithm>(alg), statement.cert_info,
                                    sig);
      !ok) {
    return RuleError(TpmRule::kSignature, ok.error().message);
  }
  // Steps 6-7: §8.3.1.
  auto device = CheckAikCertificate((*chain)[0].get(), auth_data);
  if (!device) return device.error();
  if (auto problem = ChainSignatureProblem(*chain)) return RuleError(TpmRule::kChain, *problem);

  VerifiedTpmAttestation out;
  out.trust_path = x5c;
  out.device = std::move(*device);
  constexpr TPMA_OBJECT kFixed =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN;
  out.key_fixed_to_tpm = (pub.objectAttributes & kFixed) == kFixed;
  if (trust && !trust->anchors.empty()) {
    auto problem = ChainToAnchorProblem(*chain, trust->anchors, trust->at);
    out.trusted = !problem;
    if (problem) out.untrusted_because = std::string(ToString(TpmRule::kTrustAnchor)) + ": " + *problem;
  }
  return out;
}

}  // namespace tpmauthn::webauthn
