// ESAPI's host-side crypto (tpm/host_crypto.h): published known answers for
// the hashes, HMAC and AES-CFB; ECDH and RSA-OAEP checked by the other side
// of the exchange with OpenSSL, as the TPM would do it. No TPM needed; the
// tpm suite runs every session through these functions where tpm2-tss ≥ 4.0.
#define BOOST_TEST_MODULE host_crypto
#include <boost/test/unit_test.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <cstring>
#include <string>

#include "tpm/host_crypto.h"
#include "webauthn/bytes.h"
#include "webauthn/openssl_ptr.h"

using namespace tpmauthn;
namespace hc = tpm::host_crypto;
using webauthn::Bytes;
using webauthn::EvpPkeyCtxPtr;
using webauthn::EvpPkeyPtr;

namespace {

const hc::Algorithms& Algs() {
  static const std::unique_ptr<hc::Algorithms> algorithms = hc::Algorithms::Fetch();
  BOOST_REQUIRE(algorithms);
  return *algorithms;
}

Bytes Hex(const std::string& text) {
  Bytes out;
  BOOST_REQUIRE(webauthn::FromHex(text, out));
  return out;
}

Bytes Text(const std::string& text) { return Bytes(text.begin(), text.end()); }

Bytes Run(hc::Digest* digest, const Bytes& data) {
  BOOST_REQUIRE(digest);
  BOOST_REQUIRE_EQUAL(hc::Update(digest, data.data(), data.size()), TSS2_RC_SUCCESS);
  Bytes out(64);
  size_t size = out.size();
  BOOST_REQUIRE_EQUAL(hc::Finish(&digest, out.data(), &size), TSS2_RC_SUCCESS);
  BOOST_TEST(!digest);
  out.resize(size);
  return out;
}

Bytes Hash(TPM2_ALG_ID alg, const Bytes& data) {
  hc::Digest* digest = nullptr;
  BOOST_REQUIRE_EQUAL(hc::HashStart(Algs(), &digest, alg), TSS2_RC_SUCCESS);
  return Run(digest, data);
}

Bytes Hmac(TPM2_ALG_ID alg, const Bytes& key, const Bytes& data) {
  hc::Digest* digest = nullptr;
  BOOST_REQUIRE_EQUAL(hc::HmacStart(Algs(), &digest, alg, key.data(), key.size()), TSS2_RC_SUCCESS);
  return Run(digest, data);
}

Bytes Coordinate(const EvpPkeyPtr& key, const char* name, size_t size) {
  BIGNUM* bn = nullptr;
  BOOST_REQUIRE(EVP_PKEY_get_bn_param(key.get(), name, &bn));
  Bytes out(size);
  BOOST_REQUIRE_EQUAL(BN_bn2binpad(bn, out.data(), static_cast<int>(size)), static_cast<int>(size));
  BN_free(bn);
  return out;
}

void Put(TPM2B_ECC_PARAMETER& to, const Bytes& from) {
  to.size = static_cast<UINT16>(from.size());
  std::memcpy(to.buffer, from.data(), from.size());
}

TPM2B_PUBLIC EccPublic(const EvpPkeyPtr& key) {
  TPM2B_PUBLIC pub{};
  pub.publicArea.type = TPM2_ALG_ECC;
  pub.publicArea.nameAlg = TPM2_ALG_SHA256;
  pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  Put(pub.publicArea.unique.ecc.x, Coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
  Put(pub.publicArea.unique.ecc.y, Coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  return pub;
}

}  // namespace

// FIPS 180-2 appendix examples, "abc".
BOOST_AUTO_TEST_CASE(hashes_match_fips_180_examples) {
  BOOST_TEST(Hash(TPM2_ALG_SHA1, Text("abc")) == Hex("a9993e364706816aba3e25717850c26c9cd0d89d"));
  BOOST_TEST(Hash(TPM2_ALG_SHA256, Text("abc")) ==
             Hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  BOOST_TEST(Hash(TPM2_ALG_SHA384, Text("abc")) ==
             Hex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                 "8086072ba1e7cc2358baeca134c825a7"));
}

// RFC 4231 test case 2; and the empty key an unsalted session uses
// (HMAC-SHA-256 with an empty key over an empty message).
BOOST_AUTO_TEST_CASE(hmac_matches_rfc_4231) {
  BOOST_TEST(Hmac(TPM2_ALG_SHA256, Text("Jefe"), Text("what do ya want for nothing?")) ==
             Hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  BOOST_TEST(Hmac(TPM2_ALG_SHA256, Bytes(), Bytes()) ==
             Hex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"));
}

BOOST_AUTO_TEST_CASE(refusals) {
  hc::Digest* digest = nullptr;
  BOOST_TEST(hc::HashStart(Algs(), &digest, TPM2_ALG_SM3_256) == TSS2_ESYS_RC_NOT_IMPLEMENTED);
  BOOST_TEST(!digest);
  BOOST_REQUIRE_EQUAL(hc::HashStart(Algs(), &digest, TPM2_ALG_SHA256), TSS2_RC_SUCCESS);
  uint8_t small[31];
  size_t size = sizeof(small);
  BOOST_TEST(hc::Finish(&digest, small, &size) == TSS2_ESYS_RC_BAD_SIZE);
  BOOST_TEST(!digest);  // freed either way
  hc::Abort(&digest);   // and aborting nothing is harmless

  uint8_t key[16] = {};
  uint8_t iv[16] = {};
  uint8_t data[16] = {};
  BOOST_TEST(hc::AesCfb(Algs(), true, key, TPM2_ALG_AES, 128, TPM2_ALG_CBC, data, 16, iv) ==
             TSS2_ESYS_RC_BAD_VALUE);
  BOOST_TEST(hc::AesCfb(Algs(), true, key, TPM2_ALG_AES, 129, TPM2_ALG_CFB, data, 16, iv) ==
             TSS2_ESYS_RC_BAD_VALUE);
  TPM2B_NONCE nonce{};
  BOOST_TEST(hc::Random(&nonce, sizeof(nonce.buffer) + 1) == TSS2_ESYS_RC_BAD_SIZE);
}

// NIST SP 800-38A F.3.13/F.3.14 (CFB128-AES128), two blocks, in place.
BOOST_AUTO_TEST_CASE(aes_cfb_matches_sp_800_38a) {
  const Bytes key = Hex("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes iv = Hex("000102030405060708090a0b0c0d0e0f");
  const Bytes plain = Hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
  const Bytes cipher = Hex("3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b");
  Bytes buffer = plain;
  BOOST_REQUIRE_EQUAL(hc::AesCfb(Algs(), true, key.data(), TPM2_ALG_AES, 128, TPM2_ALG_CFB, buffer.data(),
                                 buffer.size(), iv.data()),
                      TSS2_RC_SUCCESS);
  BOOST_TEST(buffer == cipher);
  BOOST_REQUIRE_EQUAL(hc::AesCfb(Algs(), false, key.data(), TPM2_ALG_AES, 128, TPM2_ALG_CFB, buffer.data(),
                                 buffer.size(), iv.data()),
                      TSS2_RC_SUCCESS);
  BOOST_TEST(buffer == plain);
}

BOOST_AUTO_TEST_CASE(random_fills_what_is_asked) {
  TPM2B_NONCE a{}, b{};
  BOOST_REQUIRE_EQUAL(hc::Random(&a, 32), TSS2_RC_SUCCESS);
  BOOST_REQUIRE_EQUAL(hc::Random(&b, 0), TSS2_RC_SUCCESS);
  BOOST_TEST(a.size == 32);
  BOOST_TEST(b.size == sizeof(b.buffer));
  BOOST_TEST(std::memcmp(a.buffer, b.buffer, 32) != 0);
}

// The TPM's side of the salt exchange: its private key times our Q must give
// the same Z; Q arrives marshalled as TPM 2.0 Part 2 §11.2.5.2 says.
BOOST_AUTO_TEST_CASE(ecdh_agrees_with_the_other_side) {
  EvpPkeyPtr tpm_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  BOOST_REQUIRE(tpm_key);
  const TPM2B_PUBLIC pub = EccPublic(tpm_key);
  TPM2B_ECC_PARAMETER z{};
  TPMS_ECC_POINT q{};
  uint8_t out[sizeof(TPMS_ECC_POINT)];
  size_t out_size = 0;
  BOOST_REQUIRE_EQUAL(hc::EcdhPoint(pub, sizeof(out), &z, &q, out, &out_size), TSS2_RC_SUCCESS);
  BOOST_TEST(z.size == 32);

  TPMS_ECC_POINT unmarshalled{};
  size_t offset = 0;
  BOOST_REQUIRE_EQUAL(Tss2_MU_TPMS_ECC_POINT_Unmarshal(out, out_size, &offset, &unmarshalled),
                      TSS2_RC_SUCCESS);
  BOOST_TEST(offset == out_size);
  BOOST_TEST(std::memcmp(&unmarshalled, &q, sizeof(q)) == 0);

  Bytes point{0x04};
  point.insert(point.end(), q.x.buffer, q.x.buffer + q.x.size);
  point.insert(point.end(), q.y.buffer, q.y.buffer + q.y.size);
  EvpPkeyPtr ephemeral(EVP_PKEY_new());
  EvpPkeyCtxPtr from(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = nullptr;
  BOOST_REQUIRE(EVP_PKEY_fromdata_init(from.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_fromdata(from.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) == 1);
  ephemeral.reset(raw);
  EvpPkeyCtxPtr derive(EVP_PKEY_CTX_new_from_pkey(nullptr, tpm_key.get(), nullptr));
  Bytes expected(32);
  size_t size = expected.size();
  BOOST_REQUIRE(EVP_PKEY_derive_init(derive.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_derive_set_peer(derive.get(), ephemeral.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_derive(derive.get(), expected.data(), &size) == 1);
  BOOST_TEST(Bytes(z.buffer, z.buffer + z.size) == expected);
}

BOOST_AUTO_TEST_CASE(ecdh_refuses_a_point_off_the_curve) {
  EvpPkeyPtr tpm_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  TPM2B_PUBLIC pub = EccPublic(tpm_key);
  pub.publicArea.unique.ecc.y.buffer[31] ^= 1;
  TPM2B_ECC_PARAMETER z{};
  TPMS_ECC_POINT q{};
  uint8_t out[sizeof(TPMS_ECC_POINT)];
  size_t out_size = 0;
  BOOST_TEST(hc::EcdhPoint(pub, sizeof(out), &z, &q, out, &out_size) == TSS2_ESYS_RC_BAD_VALUE);
  pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
  BOOST_TEST(hc::EcdhPoint(pub, sizeof(out), &z, &q, out, &out_size) ==
             TSS2_ESYS_RC_NOT_IMPLEMENTED);
}

// The TPM decrypts a salt with OAEP, its nameAlg, and the label with its NUL.
BOOST_AUTO_TEST_CASE(rsa_oaep_decrypts_with_the_tpms_label) {
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  BOOST_REQUIRE(rsa);
  TPM2B_PUBLIC pub{};
  pub.publicArea.type = TPM2_ALG_RSA;
  pub.publicArea.nameAlg = TPM2_ALG_SHA256;
  pub.publicArea.parameters.rsaDetail.keyBits = 2048;
  BIGNUM* n = nullptr;
  BOOST_REQUIRE(EVP_PKEY_get_bn_param(rsa.get(), OSSL_PKEY_PARAM_RSA_N, &n));
  pub.publicArea.unique.rsa.size = static_cast<UINT16>(BN_num_bytes(n));
  BN_bn2bin(n, pub.publicArea.unique.rsa.buffer);
  BN_free(n);

  const Bytes salt = Hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  Bytes sealed(256);
  size_t sealed_size = 0;
  BOOST_REQUIRE_EQUAL(hc::RsaOaepEncrypt(pub, salt.data(), salt.size(), "SECRET", sealed.data(),
                                         sealed.size(), &sealed_size),
                      TSS2_RC_SUCCESS);
  BOOST_REQUIRE(sealed_size == 256);
  size_t too_small = 0;
  BOOST_TEST(hc::RsaOaepEncrypt(pub, salt.data(), salt.size(), "SECRET", sealed.data(), 255,
                                &too_small) == TSS2_ESYS_RC_BAD_SIZE);

  auto decrypt = [&](const char* label, size_t label_size) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, rsa.get(), nullptr));
    BOOST_REQUIRE(EVP_PKEY_decrypt_init(ctx.get()) == 1);
    BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1);
    BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx.get(), "SHA256", nullptr) == 1);
    void* copy = OPENSSL_memdup(label, label_size);
    BOOST_REQUIRE(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy, static_cast<int>(label_size)));
    Bytes plain(256);
    size_t size = plain.size();
    if (EVP_PKEY_decrypt(ctx.get(), plain.data(), &size, sealed.data(), sealed_size) != 1) {
      return Bytes();
    }
    plain.resize(size);
    return plain;
  };
  BOOST_TEST(decrypt("SECRET", 7) == salt);
  BOOST_TEST(decrypt("SECRET", 6).empty());  // without the NUL the TPM would refuse it
}
