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

// The CA's software MakeCredential (OpenSSL: OAEP "IDENTITY", KDFa, AES-CFB,
// HMAC) is what the TPM accepts: the TPM is the reference for every byte.
BOOST_AUTO_TEST_CASE(the_cas_make_credential_is_accepted_by_the_tpm) {
  Rig rig;
  auto ak = Require(tpm::CreateAttestationKey(rig.esys()), "AK");
  auto name = Require(tpm::AttestationKeyName(ak), "AK name");
  auto ek = Require(tpm::OpenEndorsementKey(rig.esys()), "EK");
  const TPMT_PUBLIC ek_public = ek.public_area.publicArea;
  Esys_TR_Close(rig.esys(), &ek.handle);
  for (size_t size : {1u, 16u, 32u}) {
    Bytes credential(size);
    for (size_t i = 0; i < size; ++i) credential[i] = static_cast<uint8_t>(0xa0 + i);
    auto sealed = attestation_ca::MakeCredential(ek_public, name, credential);
    BOOST_TEST_REQUIRE(sealed.ok());
    auto recovered =
        tpm::ActivateCredential(rig.esys(), ak, sealed->id_object, sealed->encrypted_secret);
    BOOST_TEST_REQUIRE(recovered.ok(), (recovered ? "" : recovered.error().message));
    BOOST_TEST(Bytes(recovered->bytes().begin(), recovered->bytes().end()) == credential);
  }
  // Sealed to another Name, or with one byte of the blob flipped: refused.
  Bytes other_name = name;
  other_name.back() ^= 1;
  auto wrong = attestation_ca::MakeCredential(ek_public, other_name, Bytes(32, 1));
  BOOST_TEST_REQUIRE(wrong.ok());
  BOOST_TEST(!tpm::ActivateCredential(rig.esys(), ak, wrong->id_object, wrong->encrypted_secret)
                  .ok());
  auto sealed = attestation_ca::MakeCredential(ek_public, name, Bytes(32, 1));
  BOOST_TEST_REQUIRE(sealed.ok());
  sealed->id_object[10] ^= 1;
  BOOST_TEST(!tpm::ActivateCredential(rig.esys(), ak, sealed->id_object, sealed->encrypted_secret)
                  .ok());
  BOOST_TEST(!attestation_ca::MakeCredential(ek_public, name, Bytes(33, 1)).ok());
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
