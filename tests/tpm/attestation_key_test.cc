// The attestation key against a swtpm manufactured with EK certificates
// (swtpm_setup + swtpm_localca, suite "tpm"): the EK certificate read from NV
// is the one swtpm_setup wrote and chains to its CA; the AK is a restricted
// signing child of the EK; TPM2_ActivateCredential gives back what the TPM's
// own TPM2_MakeCredential sealed to (EK, AK Name) and refuses a credential made
// for another AK; TPM2_Certify's certInfo names the certified key and carries
// the qualifying data, signed by the AK.
#define BOOST_TEST_MODULE attestation_key
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include <fstream>
#include <iterator>

#include "attestation_ca/make_credential.h"
#include "tests/support/swtpm.h"
#include "tpm/attestation_key.h"
#include "tpm/connection.h"
#include "tpm/endorsement.h"
#include "tpm/marshal.h"
#include "webauthn/client_data.h"

using namespace tpmauthn;
using webauthn::Bytes;

namespace {

struct Rig {
  testing::Swtpm swtpm{/*ek_certificates=*/true};
  std::unique_ptr<tpm::Connection> connection = [this] {
    ::setenv("TSS2_LOG", "all+NONE", 1);
    auto c = tpm::Connection::Open(swtpm.tcti());
    if (!c) throw std::runtime_error(c.error().message);
    return std::move(*c);
  }();
  ESYS_CONTEXT* esys() { return connection->esys(); }
};

Bytes ReadBinary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

template <typename T>
T Require(tpm::TpmResult<T> result, const char* what) {
  if (!result) throw std::runtime_error(std::string(what) + ": " + result.error().message);
  return std::move(*result);
}

// What a CA would send: the TPM's own MakeCredential over the EK's public
// part (loaded as an external key), sealed to `name`.
std::pair<Bytes, Bytes> MakeCredentialOnTpm(ESYS_CONTEXT* esys, const Bytes& credential,
                                            const Bytes& name) {
  auto ek = Require(tpm::OpenEndorsementKey(esys), "EK");
  ESYS_TR external = ESYS_TR_NONE;
  BOOST_TEST_REQUIRE(Esys_LoadExternal(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nullptr,
                                       &ek.public_area, ESYS_TR_RH_NULL,
                                       &external) == TSS2_RC_SUCCESS);
  Esys_TR_Close(esys, &ek.handle);
  TPM2B_DIGEST in{};
  in.size = static_cast<UINT16>(credential.size());
  std::copy(credential.begin(), credential.end(), in.buffer);
  TPM2B_NAME object_name{};
  object_name.size = static_cast<UINT16>(name.size());
  std::copy(name.begin(), name.end(), object_name.name);
  TPM2B_ID_OBJECT* blob = nullptr;
  TPM2B_ENCRYPTED_SECRET* secret = nullptr;
  TSS2_RC rc = Esys_MakeCredential(esys, external, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in,
                                   &object_name, &blob, &secret);
  Esys_FlushContext(esys, external);
  BOOST_TEST_REQUIRE(rc == TSS2_RC_SUCCESS);
  auto out = std::make_pair(
      tpm::MarshalToBytes<TPM2B_ID_OBJECT, Tss2_MU_TPM2B_ID_OBJECT_Marshal>(*blob),
      tpm::MarshalToBytes<TPM2B_ENCRYPTED_SECRET, Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal>(*secret));
  Esys_Free(blob);
  Esys_Free(secret);
  return out;
}

// The ECC EK of the TCG EK Credential Profile's template L-2 (NIST P-256,
// AES-128-CFB, authPolicy PolicyA = PolicySecret(TPM_RH_ENDORSEMENT)), made in
// the endorsement hierarchy and persisted at 0x81010002, as tpm2_createek
// -G ecc does; swtpm_setup makes only its P-384 one.
void PersistEccEk(ESYS_CONTEXT* esys) {
  static const uint8_t kPolicyA[32] = {
      0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
      0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
      0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};
  TPM2B_PUBLIC in{};
  TPMT_PUBLIC& area = in.publicArea;
  area.type = TPM2_ALG_ECC;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                          TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  area.authPolicy.size = sizeof(kPolicyA);
  std::copy(std::begin(kPolicyA), std::end(kPolicyA), area.authPolicy.buffer);
  area.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  area.parameters.eccDetail.symmetric.keyBits.aes = 128;
  area.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  area.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  area.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  area.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  area.unique.ecc.x.size = 32;
  area.unique.ecc.y.size = 32;
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION pcrs{};
  ESYS_TR ek = ESYS_TR_NONE;
  BOOST_TEST_REQUIRE(Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
                                        ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &in, &outside,
                                        &pcrs, &ek, nullptr, nullptr, nullptr,
                                        nullptr) == TSS2_RC_SUCCESS);
  tpm::TransientHandle owned(esys, ek);
  ESYS_TR persistent = ESYS_TR_NONE;
  BOOST_TEST_REQUIRE(Esys_EvictControl(esys, ESYS_TR_RH_OWNER, ek, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                       ESYS_TR_NONE, tpm::kEccEkHandle,
                                       &persistent) == TSS2_RC_SUCCESS);
  Esys_TR_Close(esys, &persistent);
}

// The CA's software MakeCredential for `ek_public` is what the TPM accepts
// (the TPM is the reference for every byte): credentials of 1, 16 and 32
// bytes sealed to the AK's Name come back; one sealed to another Name does
// not.
void ExpectActivation(ESYS_CONTEXT* esys, const TPMT_PUBLIC& ek_public,
                      const tpm::AttestationKeyBlob& ak) {
  const Bytes name = Require(tpm::AttestationKeyName(ak), "AK name");
  for (size_t size : {1u, 16u, 32u}) {
    Bytes credential(size);
    for (size_t i = 0; i < size; ++i) credential[i] = static_cast<uint8_t>(0xa0 + i);
    auto sealed = attestation_ca::MakeCredential(ek_public, name, credential);
    BOOST_TEST_REQUIRE(sealed.ok(), (sealed ? "" : sealed.error().message));
    auto recovered =
        tpm::ActivateCredential(esys, ak, sealed->id_object, sealed->encrypted_secret);
    BOOST_TEST_REQUIRE(recovered.ok(), (recovered ? "" : recovered.error().message));
    BOOST_TEST(Bytes(recovered->bytes().begin(), recovered->bytes().end()) == credential);
  }
  Bytes other_name = name;
  other_name.back() ^= 1;
  auto wrong = attestation_ca::MakeCredential(ek_public, other_name, Bytes(32, 1));
  BOOST_TEST_REQUIRE(wrong.ok());
  BOOST_TEST(!tpm::ActivateCredential(esys, ak, wrong->id_object, wrong->encrypted_secret).ok());
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_ek_certificate_is_read_from_nv_and_chains_to_the_test_ca) {
  Rig rig;
  Bytes der = Require(tpm::ReadEkCertificate(rig.esys()), "EK certificate");
  BOOST_TEST(der == ReadBinary(rig.swtpm.dir() + "/ek-certs/ek-rsa2048.crt"));
  const unsigned char* p = der.data();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  BOOST_TEST_REQUIRE(cert);
  FILE* f = std::fopen((rig.swtpm.ek_ca_dir() + "/issuercert.pem").c_str(), "r");
  BOOST_TEST_REQUIRE(f);
  X509* issuer = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  BOOST_TEST_REQUIRE(issuer);
  BOOST_TEST(X509_verify(cert, X509_get0_pubkey(issuer)) == 1);
  // The certificate's key is the EK's.
  auto ek = Require(tpm::OpenEndorsementKey(rig.esys()), "EK");
  const TPM2B_PUBLIC_KEY_RSA& n = ek.public_area.publicArea.unique.rsa;
  BIGNUM* modulus = nullptr;
  BOOST_TEST_REQUIRE(EVP_PKEY_get_bn_param(X509_get0_pubkey(cert), "n", &modulus) == 1);
  Bytes from_cert(static_cast<size_t>(BN_num_bytes(modulus)));
  BN_bn2bin(modulus, from_cert.data());
  BOOST_TEST(from_cert == Bytes(n.buffer, n.buffer + n.size));
  BN_free(modulus);
  Esys_TR_Close(rig.esys(), &ek.handle);
  X509_free(issuer);
  X509_free(cert);

  auto identity = Require(tpm::ReadTpmIdentity(rig.esys()), "identity");
  BOOST_TEST(identity.manufacturer == "id:49424D00");  // swtpm: "IBM"
  BOOST_TEST(identity.version.rfind("id:", 0) == 0u);
  BOOST_TEST(!identity.model.empty());
}

BOOST_AUTO_TEST_CASE(activate_credential_recovers_what_the_tpm_sealed_to_this_ak) {
  Rig rig;
  auto ak = Require(tpm::CreateAttestationKey(rig.esys()), "AK");
  auto name = Require(tpm::AttestationKeyName(ak), "AK name");
  {
    auto loaded = Require(tpm::LoadAttestationKey(rig.esys(), ak), "load AK");
    TPM2B_NAME* tpm_name = nullptr;
    BOOST_TEST_REQUIRE(Esys_TR_GetName(rig.esys(), loaded.get(), &tpm_name) == TSS2_RC_SUCCESS);
    BOOST_TEST(Bytes(tpm_name->name, tpm_name->name + tpm_name->size) == name);
    Esys_Free(tpm_name);
  }
  const Bytes credential(32, 0x5a);
  auto [blob, secret] = MakeCredentialOnTpm(rig.esys(), credential, name);
  auto recovered = Require(tpm::ActivateCredential(rig.esys(), ak, blob, secret), "activate");
  BOOST_TEST(Bytes(recovered.bytes().begin(), recovered.bytes().end()) == credential);

  // Sealed to another AK's Name: refused by the TPM.
  auto other = Require(tpm::CreateAttestationKey(rig.esys()), "second AK");
  auto [other_blob, other_secret] =
      MakeCredentialOnTpm(rig.esys(), credential, Require(tpm::AttestationKeyName(other), "name"));
  auto refused = tpm::ActivateCredential(rig.esys(), ak, other_blob, other_secret);
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().message.find("another") != std::string::npos,
             refused.error().message);
}

// The CA's software MakeCredential for the RSA EK (OpenSSL: OAEP "IDENTITY",
// KDFa, AES-CFB, HMAC) is what the TPM accepts.
BOOST_AUTO_TEST_CASE(the_cas_make_credential_is_accepted_by_the_tpm) {
  Rig rig;
  auto ak = Require(tpm::CreateAttestationKey(rig.esys()), "AK");
  auto name = Require(tpm::AttestationKeyName(ak), "AK name");
  auto ek = Require(tpm::OpenEndorsementKey(rig.esys()), "EK");
  const TPMT_PUBLIC ek_public = ek.public_area.publicArea;
  Esys_TR_Close(rig.esys(), &ek.handle);
  ExpectActivation(rig.esys(), ek_public, ak);
  // With one byte of the blob flipped: refused.
  auto sealed = attestation_ca::MakeCredential(ek_public, name, Bytes(32, 1));
  BOOST_TEST_REQUIRE(sealed.ok());
  sealed->id_object[10] ^= 1;
  BOOST_TEST(!tpm::ActivateCredential(rig.esys(), ak, sealed->id_object, sealed->encrypted_secret)
                  .ok());
  BOOST_TEST(!attestation_ca::MakeCredential(ek_public, name, Bytes(33, 1)).ok());
}

// The same with the ECC P-256 EK (ECDH with an ephemeral key, KDFe): the AK
// made under it is activated with it, and the record says which EK it is.
BOOST_AUTO_TEST_CASE(the_cas_make_credential_for_an_ecc_ek_is_accepted_by_the_tpm) {
  Rig rig;
  auto missing = tpm::OpenEndorsementKey(rig.esys(), tpm::EkKind::kEcc);
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().message.find("tpm2_createek -c 0x81010002 -G ecc") !=
                 std::string::npos,
             missing.error().message);
  PersistEccEk(rig.esys());
  auto ek = Require(tpm::OpenEndorsementKey(rig.esys(), tpm::EkKind::kEcc), "ECC EK");
  const TPMT_PUBLIC ek_public = ek.public_area.publicArea;
  Esys_TR_Close(rig.esys(), &ek.handle);
  BOOST_TEST(ek_public.type == TPM2_ALG_ECC);
  auto ak = Require(tpm::CreateAttestationKey(rig.esys(), tpm::EkKind::kEcc), "AK");
  BOOST_TEST((ak.ek == tpm::EkKind::kEcc));
  auto name = Require(tpm::AttestationKeyName(ak), "AK name");
  ExpectActivation(rig.esys(), ek_public, ak);
  // The encrypted secret is a TPMS_ECC_POINT (two 32-byte coordinates); with
  // the ephemeral point moved, or sealed to the RSA EK: refused.
  auto moved = attestation_ca::MakeCredential(ek_public, name, Bytes(32, 1));
  BOOST_TEST_REQUIRE(moved.ok());
  BOOST_TEST(moved->encrypted_secret.size() == 2u + 2 + 32 + 2 + 32);
  moved->encrypted_secret[5] ^= 1;  // x of QeU
  BOOST_TEST(!tpm::ActivateCredential(rig.esys(), ak, moved->id_object, moved->encrypted_secret)
                  .ok());
  auto rsa_ek = Require(tpm::OpenEndorsementKey(rig.esys()), "RSA EK");
  auto to_rsa = attestation_ca::MakeCredential(rsa_ek.public_area.publicArea, name, Bytes(32, 1));
  Esys_TR_Close(rig.esys(), &rsa_ek.handle);
  BOOST_TEST_REQUIRE(to_rsa.ok());
  BOOST_TEST(!tpm::ActivateCredential(rig.esys(), ak, to_rsa->id_object, to_rsa->encrypted_secret)
                  .ok());
  // A point off the curve is refused by the CA before anything is sealed.
  TPMT_PUBLIC off_curve = ek_public;
  off_curve.unique.ecc.y.buffer[31] ^= 1;
  BOOST_TEST(!attestation_ca::MakeCredential(off_curve, name, Bytes(32, 1)).ok());

  // The key store's record keeps the EK kind; files from before say none (RSA).
  const tpm::AttestationKeyRecord record{ak, {}};
  const std::string json = tpm::SerializeAttestationKeyRecord(record);
  BOOST_TEST(json.find("\"ek\": \"ecc\"") != std::string::npos, json);
  auto parsed = Require(tpm::ParseAttestationKeyRecord(json), "record");
  BOOST_TEST((parsed.blob.ek == tpm::EkKind::kEcc));
  std::string old = json;
  old.erase(old.find("\"ek\": \"ecc\","), std::string("\"ek\": \"ecc\",").size());
  BOOST_TEST((Require(tpm::ParseAttestationKeyRecord(old), "old record").blob.ek ==
              tpm::EkKind::kRsa));
  std::string bad = json;
  bad.replace(bad.find("\"ecc\""), 5, "\"dsa\"");
  BOOST_TEST(!tpm::ParseAttestationKeyRecord(bad).ok());
}

// The attack the CA's attribute checks rely on the TPM to stop: a public
// area with an AK's attributes (fixedTPM, restricted, sign) but a key whose
// private part lives outside any TPM, loaded public-only with
// TPM2_LoadExternal. The TPM must not activate a credential for it, or a CA
// would certify a software key.
BOOST_AUTO_TEST_CASE(a_public_only_lookalike_of_an_ak_cannot_activate_a_credential) {
  Rig rig;
  auto ak = Require(tpm::CreateAttestationKey(rig.esys()), "AK");
  auto genuine = Require(tpm::UnmarshalFromBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Unmarshal>(
                             ak.public_blob, "AK public"),
                         "AK public");
  // Same template and attributes; the modulus of another (software) key.
  TPM2B_PUBLIC lookalike = genuine;
  for (UINT16 i = 0; i < lookalike.publicArea.unique.rsa.size; ++i) {
    lookalike.publicArea.unique.rsa.buffer[i] ^= 0x5a;
  }
  lookalike.publicArea.unique.rsa.buffer[lookalike.publicArea.unique.rsa.size - 1] |= 1;
  ESYS_TR external = ESYS_TR_NONE;
  TSS2_RC rc = Esys_LoadExternal(rig.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nullptr,
                                 &lookalike, ESYS_TR_RH_NULL, &external);
  if (rc != TSS2_RC_SUCCESS) {
    BOOST_TEST_MESSAGE("the TPM refuses to load it at all: " << std::hex << rc);
    return;
  }
  tpm::TransientHandle owned(rig.esys(), external);
  TPM2B_NAME* name = nullptr;
  BOOST_TEST_REQUIRE(Esys_TR_GetName(rig.esys(), external, &name) == TSS2_RC_SUCCESS);
  const Bytes lookalike_name(name->name, name->name + name->size);
  Esys_Free(name);
  auto ek = Require(tpm::OpenEndorsementKey(rig.esys()), "EK");
  const TPMT_PUBLIC ek_public = ek.public_area.publicArea;
  Esys_TR_Close(rig.esys(), &ek.handle);
  auto sealed = attestation_ca::MakeCredential(ek_public, lookalike_name, Bytes(32, 7));
  BOOST_TEST_REQUIRE(sealed.ok());
  TPM2B_ID_OBJECT blob{};
  size_t offset = 0;
  BOOST_TEST_REQUIRE(Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(sealed->id_object.data(),
                                                       sealed->id_object.size(), &offset,
                                                       &blob) == TSS2_RC_SUCCESS);
  TPM2B_ENCRYPTED_SECRET secret{};
  offset = 0;
  BOOST_TEST_REQUIRE(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(
                         sealed->encrypted_secret.data(), sealed->encrypted_secret.size(), &offset,
                         &secret) == TSS2_RC_SUCCESS);
  auto ek_again = Require(tpm::OpenEndorsementKey(rig.esys()), "EK");
  auto session = Require(tpm::StartEkPolicySession(rig.esys()), "EK session");
  TPM2B_DIGEST* recovered = nullptr;
  rc = Esys_ActivateCredential(rig.esys(), external, ek_again.handle, ESYS_TR_PASSWORD,
                               session.get(), ESYS_TR_NONE, &blob, &secret, &recovered);
  Esys_Free(recovered);
  Esys_TR_Close(rig.esys(), &ek_again.handle);
  BOOST_TEST_MESSAGE("ActivateCredential on a public-only object: 0x" << std::hex << rc);
  BOOST_TEST(rc != TSS2_RC_SUCCESS);
}

BOOST_AUTO_TEST_CASE(certify_names_the_key_and_carries_the_qualifying_data) {
  Rig rig;
  auto ak_blob = Require(tpm::CreateAttestationKey(rig.esys()), "AK");
  auto ak = Require(tpm::LoadAttestationKey(rig.esys(), ak_blob), "load AK");
  // A key to certify: an ECC signing primary in the null hierarchy.
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_PUBLIC in{};
  in.publicArea.type = TPM2_ALG_ECC;
  in.publicArea.nameAlg = TPM2_ALG_SHA256;
  in.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                   TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                   TPMA_OBJECT_SIGN_ENCRYPT;
  in.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  in.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  in.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  in.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION pcrs{};
  ESYS_TR key = ESYS_TR_NONE;
  BOOST_TEST_REQUIRE(Esys_CreatePrimary(rig.esys(), ESYS_TR_RH_NULL, ESYS_TR_PASSWORD,
                                        ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &in, &outside,
                                        &pcrs, &key, nullptr, nullptr, nullptr,
                                        nullptr) == TSS2_RC_SUCCESS);
  tpm::TransientHandle owned_key(rig.esys(), key);
  const Bytes qualifying = webauthn::Sha256(webauthn::AsBytes(std::string("authData||cdh")));
  auto certified =
      Require(tpm::Certify(rig.esys(), ak.get(), key, ESYS_TR_PASSWORD, qualifying), "certify");

  TPMS_ATTEST attest{};
  size_t offset = 0;
  BOOST_TEST_REQUIRE(Tss2_MU_TPMS_ATTEST_Unmarshal(certified.cert_info.data(),
                                                   certified.cert_info.size(), &offset,
                                                   &attest) == TSS2_RC_SUCCESS);
  BOOST_TEST(offset == certified.cert_info.size());
  BOOST_TEST(attest.magic == TPM2_GENERATED_VALUE);
  BOOST_TEST(attest.type == TPM2_ST_ATTEST_CERTIFY);
  BOOST_TEST(Bytes(attest.extraData.buffer, attest.extraData.buffer + attest.extraData.size) ==
             qualifying);
  TPM2B_NAME* key_name = nullptr;
  BOOST_TEST_REQUIRE(Esys_TR_GetName(rig.esys(), key, &key_name) == TSS2_RC_SUCCESS);
  const TPM2B_NAME& attested = attest.attested.certify.name;
  BOOST_TEST(Bytes(attested.name, attested.name + attested.size) ==
             Bytes(key_name->name, key_name->name + key_name->size));
  Esys_Free(key_name);

  // The signature verifies with the AK's public key (RSASSA-PKCS1-v1_5, SHA-256).
  auto pub = Require(tpm::UnmarshalFromBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Unmarshal>(
                         ak_blob.public_blob, "AK public"),
                     "AK public");
  const TPM2B_PUBLIC_KEY_RSA& n = pub.publicArea.unique.rsa;
  BIGNUM* modulus = BN_bin2bn(n.buffer, n.size, nullptr);
  BIGNUM* exponent = BN_new();
  BN_set_word(exponent, 65537);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, "n", modulus);
  OSSL_PARAM_BLD_push_BN(bld, "e", exponent);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* rsa = nullptr;
  BOOST_TEST_REQUIRE(EVP_PKEY_fromdata_init(ctx) == 1);
  BOOST_TEST_REQUIRE(EVP_PKEY_fromdata(ctx, &rsa, EVP_PKEY_PUBLIC_KEY, params) == 1);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  BOOST_TEST_REQUIRE(EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, rsa) == 1);
  BOOST_TEST(EVP_DigestVerify(md, certified.signature.data(), certified.signature.size(),
                              certified.cert_info.data(), certified.cert_info.size()) == 1);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(rsa);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(modulus);
  BN_free(exponent);
}
