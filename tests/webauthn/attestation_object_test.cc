// attestationObject: structure rules and the packed/none verification procedures,
// including §8.2.1 certificate requirements on certificates made here.
#define BOOST_TEST_MODULE attestation_object
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "tests/support/vectors.h"
#include "webauthn/attestation_object.h"
#include "webauthn/cbor.h"

using namespace tpmauthn::webauthn;
using tpmauthn::testing::LoadVector;
using tpmauthn::testing::VectorNames;
namespace data = boost::unit_test::data;

static AttestationObject ParseVector(const std::string& name) {
  auto object = AttestationObject::Parse(LoadVector(name).Hex("registration.attestationObject"));
  BOOST_REQUIRE_MESSAGE(object.ok(), name);
  return std::move(*object);
}

BOOST_DATA_TEST_CASE(vector_statements_verify, data::make(VectorNames()), name) {
  auto v = LoadVector(name);
  AttestationObject object = ParseVector(name);
  auto key = CoseKey::Parse(object.auth_data.attested->public_key);
  BOOST_TEST_REQUIRE(key.ok());
  Bytes hash = Sha256(v.Hex("registration.clientDataJSON"));
  auto verified = VerifyAttestationStatement(object, hash, *key);
  BOOST_REQUIRE_MESSAGE(verified.ok(), (verified.ok() ? std::string() : verified.error().message));
  if (object.fmt == "none") {
    BOOST_TEST((verified->type == AttestationType::kNone));
  } else if (object.x5c.empty()) {
    BOOST_TEST((verified->type == AttestationType::kSelf));
  } else {
    BOOST_TEST((verified->type == AttestationType::kBasic));
    BOOST_TEST(verified->trust_path.size() == 1u);
  }
  // A flipped bit in the client data hash breaks every signed statement.
  hash[0] ^= 1;
  BOOST_TEST(VerifyAttestationStatement(object, hash, *key).ok() == (object.fmt == "none"));
}

// Re-encodes an attestation object from its parts.
static Bytes Encode(const std::string& fmt, cbor::ItemPtr stmt, const Bytes& auth_data) {
  auto map = cbor::NewMap(3);
  cbor::MapAdd(map.get(), cbor::Text("fmt"), cbor::Text(fmt));
  cbor::MapAdd(map.get(), cbor::Text("attStmt"), std::move(stmt));
  cbor::MapAdd(map.get(), cbor::Text("authData"), cbor::ByteString(auth_data));
  return cbor::Serialize(map.get());
}

static void ExpectObjectError(const Bytes& bytes, Check check, const std::string& fragment) {
  auto parsed = AttestationObject::Parse(bytes);
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_CHECK_MESSAGE(parsed.error().check == check, parsed.error().message);
  BOOST_CHECK_MESSAGE(parsed.error().message.find(fragment) != std::string::npos, parsed.error().message);
}

BOOST_AUTO_TEST_CASE(structure_rules) {
  Bytes good = LoadVector("none-es256").Hex("registration.attestationObject");
  Bytes auth_data = ParseVector("none-es256").auth_data_bytes;
  ExpectObjectError(Bytes(good.begin(), good.end() - 1), Check::kAttestationObject, "truncated");
  Bytes extended = good;
  extended.push_back(0x00);
  ExpectObjectError(extended, Check::kAttestationObject, "1 trailing bytes");
  ExpectObjectError(Encode("android-key", cbor::NewMap(0), auth_data),
                    Check::kAttestationObject, "unsupported attestation format");
  ExpectObjectError(Encode("tpm", cbor::NewMap(0), auth_data), Check::kAttestationObject,
                    "tpm attStmt lacks ver");
  auto stmt = cbor::NewMap(1);
  cbor::MapAdd(stmt.get(), cbor::Text("x"), cbor::Int(1));
  ExpectObjectError(Encode("none", std::move(stmt), auth_data), Check::kAttestationObject,
                    "non-empty attStmt");
  auto no_sig = cbor::NewMap(1);
  cbor::MapAdd(no_sig.get(), cbor::Text("alg"), cbor::Int(-7));
  ExpectObjectError(Encode("packed", std::move(no_sig), auth_data), Check::kAttestationObject,
                    "lacks alg or sig");
  auto ecdaa = cbor::NewMap(3);
  cbor::MapAdd(ecdaa.get(), cbor::Text("alg"), cbor::Int(-7));
  cbor::MapAdd(ecdaa.get(), cbor::Text("sig"), cbor::ByteString(Bytes{1}));
  cbor::MapAdd(ecdaa.get(), cbor::Text("ecdaaKeyId"), cbor::ByteString(Bytes{1}));
  ExpectObjectError(Encode("packed", std::move(ecdaa), auth_data), Check::kAttestationObject,
                    "ecdaaKeyId");
  Bytes bad_auth = auth_data;
  bad_auth.push_back(0);
  ExpectObjectError(Encode("none", cbor::NewMap(0), bad_auth), Check::kAuthenticatorData,
                    "trailing");
  // Indefinite-length map (0xbf ... 0xff) is not CTAP2 canonical.
  Bytes indefinite = good;
  indefinite[0] = 0xbf;
  indefinite.push_back(0xff);
  ExpectObjectError(indefinite, Check::kAttestationObject, "indefinite");
}

BOOST_AUTO_TEST_CASE(self_attestation_with_a_foreign_alg_is_rejected) {
  AttestationObject object = ParseVector("packed-self-es256");
  auto key = CoseKey::Parse(object.auth_data.attested->public_key);
  object.alg = static_cast<int64_t>(CoseAlgorithm::kRS256);
  auto verified = VerifyAttestationStatement(
      object, Sha256(LoadVector("packed-self-es256").Hex("registration.clientDataJSON")), *key);
  BOOST_TEST_REQUIRE(!verified.ok());
  BOOST_TEST((verified.error().check == Check::kAttestationStatement));
}

// --- x5c certificate requirements (§8.2.1) on certificates made here --------

struct CertSpec {
  std::string ou = "Authenticator Attestation";
  bool ca = false;
  std::optional<Bytes> aaguid_extension;
  bool aaguid_critical = false;
};

static X509Ptr MakeCert(EVP_PKEY* subject_key, EVP_PKEY* issuer_key, const CertSpec& spec) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add = [&](const char* field, const std::string& value) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  };
  add("C", "AA");
  add("O", "tpmauthn tests");
  add("OU", spec.ou);
  add("CN", "test attestation");
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), subject_key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints,
                                           spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  X509_add_ext(cert.get(), bc, -1);
  X509_EXTENSION_free(bc);
  if (spec.aaguid_extension) {
    Bytes der = {0x04, 0x10};
    der.insert(der.end(), spec.aaguid_extension->begin(), spec.aaguid_extension->end());
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(value, der.data(), static_cast<int>(der.size()));
    ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
    X509_EXTENSION* ext =
        X509_EXTENSION_create_by_OBJ(nullptr, oid, spec.aaguid_critical ? 1 : 0, value);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(value);
  }
  X509_sign(cert.get(), issuer_key, EVP_sha256());
  return cert;
}

static Bytes Der(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

static Result<VerifiedAttestation> VerifyWithCerts(const std::vector<Bytes>& x5c,
                                                   EVP_PKEY* attestation_key) {
  auto v = LoadVector("packed-es256");
  AttestationObject object = ParseVector("packed-es256");
  Bytes hash = Sha256(v.Hex("registration.clientDataJSON"));
  Bytes signed_data = object.auth_data_bytes;
  signed_data.insert(signed_data.end(), hash.begin(), hash.end());
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  size_t len = 0;
  EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, attestation_key);
  EVP_DigestSign(md.get(), nullptr, &len, signed_data.data(), signed_data.size());
  object.sig.resize(len);
  EVP_DigestSign(md.get(), object.sig.data(), &len, signed_data.data(), signed_data.size());
  object.sig.resize(len);
  object.x5c = x5c;
  auto key = CoseKey::Parse(object.auth_data.attested->public_key);
  return VerifyAttestationStatement(object, hash, *key);
}

BOOST_AUTO_TEST_CASE(certificate_requirements) {
  EvpPkeyPtr leaf_key(EVP_EC_gen("P-256"));
  EvpPkeyPtr ca_key(EVP_EC_gen("P-256"));
  auto attested_aaguid = ParseVector("packed-es256").auth_data.attested->aaguid;
  Bytes aaguid(attested_aaguid.begin(), attested_aaguid.end());
  CertSpec ca_spec;
  ca_spec.ca = true;
  Bytes ca = Der(MakeCert(ca_key.get(), ca_key.get(), ca_spec).get());

  CertSpec good;
  good.aaguid_extension = aaguid;
  auto ok = VerifyWithCerts({Der(MakeCert(leaf_key.get(), ca_key.get(), good).get()), ca},
                            leaf_key.get());
  BOOST_CHECK_MESSAGE(ok.ok(), (ok.ok() ? std::string() : ok.error().message));

  auto expect = [&](const CertSpec& spec, const std::string& fragment, EVP_PKEY* issuer) {
    auto r = VerifyWithCerts({Der(MakeCert(leaf_key.get(), issuer, spec).get()), ca},
                             leaf_key.get());
    BOOST_REQUIRE_MESSAGE(!r.ok(), fragment);
    BOOST_TEST((r.error().check == Check::kAttestationStatement));
    BOOST_CHECK_MESSAGE(r.error().message.find(fragment) != std::string::npos, r.error().message);
  };
  CertSpec wrong_ou = good;
  wrong_ou.ou = "Something Else";
  expect(wrong_ou, "OU", ca_key.get());
  CertSpec is_ca = good;
  is_ca.ca = true;
  expect(is_ca, "CA", ca_key.get());
  Bytes flipped_aaguid = aaguid;
  flipped_aaguid[0] ^= 1;
  CertSpec other_aaguid = good;
  other_aaguid.aaguid_extension = flipped_aaguid;
  expect(other_aaguid, "does not match", ca_key.get());
  CertSpec critical = good;
  critical.aaguid_critical = true;
  expect(critical, "critical", ca_key.get());
  EvpPkeyPtr stranger(EVP_EC_gen("P-256"));
  expect(good, "not signed by the next", stranger.get());

  auto garbage = VerifyWithCerts({Bytes{0x30, 0x00}}, leaf_key.get());
  BOOST_TEST(!garbage.ok());
}
