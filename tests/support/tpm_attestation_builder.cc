// "tpm" attestation registrations made in software (tpm_attestation_builder.h).
#include "tests/support/tpm_attestation_builder.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "tests/support/virtual_authenticator.h"
#include "webauthn/attestation_object.h"
#include "webauthn/base64url.h"
#include "webauthn/client_data.h"

namespace tpmauthn::testing {

using namespace tpmauthn::webauthn;

namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpenSslDeleter<ASN1_OBJECT_free>>;

EvpPkeyPtr NewKey(bool rsa) {
  EvpPkeyPtr key(rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw std::runtime_error("keygen");
  return key;
}

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

Bytes BigEndian(EVP_PKEY* key, const char* param, size_t size) {
  BIGNUM* raw = nullptr;
  Check(EVP_PKEY_get_bn_param(key, param, &raw) == 1, param);
  BignumPtr n(raw);
  Bytes out(size);
  Check(BN_bn2binpad(n.get(), out.data(), static_cast<int>(size)) == static_cast<int>(size), param);
  return out;
}

Bytes Der(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  Check(length > 0, "i2d_X509");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

void AddExtension(X509* cert, int nid, void* value, bool critical) {
  Check(X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) == 1, "ext");
}

// A certificate for `key`, issued by `issuer_name`/`issuer_key`.
X509Ptr NewCertificate(EVP_PKEY* key, X509_NAME* subject, X509_NAME* issuer_name, long serial) {
  X509Ptr cert(X509_new());
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 86400);
  if (subject) X509_set_subject_name(cert.get(), subject);
  X509_set_issuer_name(cert.get(), issuer_name);
  X509_set_pubkey(cert.get(), key);
  return cert;
}

X509_NAME* CommonName(const char* cn) {
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  return name;
}

void MakeCa(X509* cert, X509V3_CTX* ctx) {
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            {NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
    Check(ext && X509_add_ext(cert, ext, -1), "CA extension");
    X509_EXTENSION_free(ext);
  }
}

Bytes SelfSignedRoot(EVP_PKEY* key, const char* cn) {
  X509_NAME* name = CommonName(cn);
  X509Ptr cert = NewCertificate(key, name, name, 1);
  X509_NAME_free(name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  MakeCa(cert.get(), &ctx);
  Check(X509_sign(cert.get(), key, EVP_sha256()) > 0, "sign root");
  return Der(cert.get());
}

Bytes PubArea(EVP_PKEY* key, bool rsa, TPMI_ALG_HASH name_alg, bool fixed) {
  TPMT_PUBLIC pub{};
  pub.nameAlg = name_alg;
  pub.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
  if (fixed) {
    pub.objectAttributes |=
        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN;
  }
  if (rsa) {
    pub.type = TPM2_ALG_RSA;
    pub.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    pub.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    pub.parameters.rsaDetail.keyBits = 2048;
    pub.parameters.rsaDetail.exponent = 0;  // 65537
    Bytes n = BigEndian(key, OSSL_PKEY_PARAM_RSA_N, 256);
    pub.unique.rsa.size = 256;
    std::copy(n.begin(), n.end(), pub.unique.rsa.buffer);
  } else {
    pub.type = TPM2_ALG_ECC;
    pub.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    pub.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    pub.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    pub.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    Bytes x = BigEndian(key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    Bytes y = BigEndian(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    pub.unique.ecc.x.size = 32;
    pub.unique.ecc.y.size = 32;
    std::copy(x.begin(), x.end(), pub.unique.ecc.x.buffer);
    std::copy(y.begin(), y.end(), pub.unique.ecc.y.buffer);
  }
  Bytes out(sizeof(TPMT_PUBLIC));
  size_t offset = 0;
  Check(Tss2_MU_TPMT_PUBLIC_Marshal(&pub, out.data(), out.size(), &offset) == TSS2_RC_SUCCESS,
        "marshal TPMT_PUBLIC");
  out.resize(offset);
  return out;
}

}  // namespace

TpmAttestationBuilder::TpmAttestationBuilder(bool rsa)
    : rsa_(rsa),
      credential_key_(NewKey(rsa)),
      other_key_(NewKey(rsa)),
      aik_(NewKey(rsa)),
      root_key_(NewKey(rsa)),
      intermediate_key_(NewKey(rsa)) {
  root_der_ = SelfSignedRoot(root_key_.get(), "tpmauthn test attestation root");
  EvpPkeyPtr stranger = NewKey(rsa);
  stranger_der_ = SelfSignedRoot(stranger.get(), "tpmauthn test stranger root");
  const unsigned char* p = root_der_.data();
  X509Ptr root(d2i_X509(nullptr, &p, static_cast<long>(root_der_.size())));
  X509_NAME* name = CommonName("tpmauthn test AIK CA");
  X509Ptr intermediate =
      NewCertificate(intermediate_key_.get(), name, X509_get_subject_name(root.get()), 2);
  X509_NAME_free(name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, root.get(), intermediate.get(), nullptr, nullptr, 0);
  MakeCa(intermediate.get(), &ctx);
  Check(X509_sign(intermediate.get(), root_key_.get(), EVP_sha256()) > 0, "sign intermediate");
  intermediate_der_ = Der(intermediate.get());
}

RegistrationResponse TpmAttestationBuilder::Make(std::string_view rp_id, std::string_view origin,
                                                 ByteView challenge,
                                                 const TpmBreaks& b) const {
  const CoseAlgorithm alg = rsa_ ? CoseAlgorithm::kRS256 : CoseAlgorithm::kES256;
  const Bytes credential_id(32, 0x5a);
  const std::array<uint8_t, 16> aaguid = {0x08, 0x98, 0x70, 0x58, 0xca, 0xdc, 0x4b, 0x81,
                                          0xb6, 0xe1, 0x30, 0xde, 0x50, 0xdc, 0xbe, 0x96};
  const std::string client_data = SerializeClientData(kTypeCreate, challenge, origin);
  AuthenticatorData ad;
  Bytes rp_hash = Sha256(AsBytes(rp_id));
  std::copy(rp_hash.begin(), rp_hash.end(), ad.rp_id_hash.begin());
  ad.flags = AuthenticatorData::kUserPresent | AuthenticatorData::kUserVerified;
  ad.attested = AttestedCredentialData{
      aaguid, credential_id, CoseKey::FromEvpPkey(credential_key_.get())->encoded()};
  const Bytes auth_data = ad.Serialize();

  // pubArea, and the TPM's Name of it.
  const TPMI_ALG_HASH name_alg = b.name_alg_unknown ? TPM2_ALG_NULL : TPM2_ALG_SHA256;
  EVP_PKEY* in_pub_area = b.pub_area_other_key ? other_key_.get() : credential_key_.get();
  Bytes pub_area = PubArea(in_pub_area, rsa_, name_alg, b.fixed_tpm);
  auto name_of = [](const Bytes& area, bool unknown_alg) {
    if (!unknown_alg) return TpmName(area);
    Bytes name = {area[2], area[3]};  // what a careless signer would do: hash it anyway
    Bytes digest = Sha256(area);
    name.insert(name.end(), digest.begin(), digest.end());
    return name;
  };
  Bytes name = name_of(b.name_of_other_pub_area ? PubArea(other_key_.get(), rsa_, name_alg, true)
                                                : pub_area,
                       b.name_alg_unknown);

  // certInfo: TPM2_Certify's TPMS_ATTEST.
  TPMS_ATTEST attest{};
  attest.magic = b.magic.value_or(TPM2_GENERATED_VALUE);
  attest.type = b.attest_type.value_or(TPM2_ST_ATTEST_CERTIFY);
  Bytes to_be_signed = auth_data;
  if (b.extra_data_of_other_data) to_be_signed[0] ^= 0x01;
  Bytes cdh = Sha256(AsBytes(client_data));
  to_be_signed.insert(to_be_signed.end(), cdh.begin(), cdh.end());
  Bytes extra = Sha256(to_be_signed);
  attest.extraData.size = static_cast<UINT16>(extra.size());
  std::copy(extra.begin(), extra.end(), attest.extraData.buffer);
  attest.clockInfo.clock = 123456;
  attest.clockInfo.safe = TPM2_YES;
  attest.firmwareVersion = 0x2019'0101'0000'0000ULL;
  attest.attested.certify.name.size = static_cast<UINT16>(name.size());
  std::copy(name.begin(), name.end(), attest.attested.certify.name.name);
  Bytes cert_info(sizeof(TPMS_ATTEST));
  size_t offset = 0;
  Check(Tss2_MU_TPMS_ATTEST_Marshal(&attest, cert_info.data(), cert_info.size(), &offset) ==
            TSS2_RC_SUCCESS,
        "marshal TPMS_ATTEST");
  cert_info.resize(offset);

  Bytes sig = SignWith(aik_.get(), alg, cert_info);
  if (b.bad_sig) sig[sig.size() / 2] ^= 0x01;
  if (b.truncate_pub_area) pub_area.pop_back();
  if (b.truncate_cert_info) cert_info.pop_back();

  // The AIK certificate, issued by the intermediate.
  const unsigned char* p = intermediate_der_.data();
  X509Ptr intermediate(d2i_X509(nullptr, &p, static_cast<long>(intermediate_der_.size())));
  X509_NAME* subject = b.cert_subject ? CommonName("an AIK") : nullptr;
  X509Ptr aik_cert =
      NewCertificate(aik_.get(), subject, X509_get_subject_name(intermediate.get()), 3);
  if (subject) X509_NAME_free(subject);
  X509_set_version(aik_cert.get(), b.cert_version);
  if (!b.san_missing) {
    X509_NAME* device = X509_NAME_new();
    std::vector<std::pair<const char*, std::string>> fields = {
        {"2.23.133.2.1", b.manufacturer}, {"2.23.133.2.2", "swtpm"}, {"2.23.133.2.3", "id:20191023"}};
    if (b.san_without_model) fields.erase(fields.begin() + 1);
    for (const auto& [oid, value] : fields) {
      Asn1ObjectPtr object(OBJ_txt2obj(oid, 1));
      X509_NAME_add_entry_by_OBJ(device, object.get(), MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0);
    }
    GENERAL_NAMES* names = GENERAL_NAMES_new();
    GENERAL_NAME* dir = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(dir, GEN_DIRNAME, device);
    sk_GENERAL_NAME_push(names, dir);
    AddExtension(aik_cert.get(), NID_subject_alt_name, names, !b.san_not_critical);
    GENERAL_NAMES_free(names);
  }
  if (!b.eku_missing) {
    EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
    sk_ASN1_OBJECT_push(eku, OBJ_txt2obj("2.23.133.8.3", 1));
    AddExtension(aik_cert.get(), NID_ext_key_usage, eku, false);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  }
  if (!b.basic_constraints_missing) {
    BASIC_CONSTRAINTS* constraints = BASIC_CONSTRAINTS_new();
    constraints->ca = b.ca_true ? 0xff : 0;
    AddExtension(aik_cert.get(), NID_basic_constraints, constraints, true);
    BASIC_CONSTRAINTS_free(constraints);
  }
  if (b.aaguid_extension) {
    Bytes value(18);  // OCTET STRING (16 bytes): the AAGUID
    value[0] = 0x04;
    value[1] = 16;
    std::copy(b.aaguid_extension->begin(), b.aaguid_extension->end(), value.begin() + 2);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, value.data(), static_cast<int>(value.size()));
    Asn1ObjectPtr object(OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1));
    X509_EXTENSION* ext =
        X509_EXTENSION_create_by_OBJ(nullptr, object.get(), b.aaguid_extension_critical, data);
    X509_add_ext(aik_cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
  }
  Check(X509_sign(aik_cert.get(), intermediate_key_.get(), EVP_sha256()) > 0, "sign AIK");

  Bytes aik_der = Der(aik_cert.get());
  if (b.cert_version != 2) {
    // OpenSSL 3.5 signs a certificate with extensions as v3 whatever was set:
    // write v2 into the DER (the version rule runs before the chain's
    // signatures are checked).
    Check(b.cert_version == 1, "cert_version must be 1 or 2");
    const Bytes v3 = {0xa0, 0x03, 0x02, 0x01, 0x02}, v2 = {0xa0, 0x03, 0x02, 0x01, 0x01};
    auto at = std::search(aik_der.begin(), aik_der.end(), v3.begin(), v3.end());
    if (at != aik_der.end()) at[4] = 0x01;
    Check(std::search(aik_der.begin(), aik_der.end(), v2.begin(), v2.end()) != aik_der.end(),
          "version field");
  }
  std::vector<Bytes> x5c = {aik_der,
                            b.corrupt_intermediate ? stranger_der_ : intermediate_der_};
  Bytes object = AttestationObject::EncodeTpm(auth_data, static_cast<CoseAlgorithm>(b.alg.value_or(
                                                             static_cast<int64_t>(alg))),
                                              sig, x5c, cert_info, pub_area);
  if (b.ver != "2.0") {
    // Re-encode with another ver: the encoder always writes "2.0".
    const std::string from = "2.0", to = b.ver;
    Bytes needle = {0x63, 'v', 'e', 'r', 0x63, '2', '.', '0'};
    auto at = std::search(object.begin(), object.end(), needle.begin(), needle.end());
    Check(at != object.end() && to.size() == 3, "ver");
    std::copy(to.begin(), to.end(), at + 5);
  }
  return RegistrationResponse{
      CredentialEnvelope{Base64UrlEncode(credential_id), credential_id, "public-key"},
      Bytes(client_data.begin(), client_data.end()), std::move(object)};
}

}  // namespace tpmauthn::testing
