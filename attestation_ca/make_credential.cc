// TPM2_MakeCredential in OpenSSL 3 (see make_credential.h).
#include "attestation_ca/make_credential.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "webauthn/openssl_ptr.h"

namespace tpmauthn::attestation_ca {
namespace {

using webauthn::Bytes;
using webauthn::ByteView;

constexpr size_t kDigestSize = 32;  // SHA-256, the EK's nameAlg

void PutBe16(Bytes& out, size_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

// A wiped buffer for the seed and the derived keys.
struct Wiped {
  Bytes bytes;
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

CaResult<Bytes> OaepEncrypt(EVP_PKEY* key, ByteView seed) {
  webauthn::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1) {
    return CaFail("RSA-OAEP setup failed");
  }
  // The label is "IDENTITY" with its terminating NUL (Part 1 §24.4); OpenSSL
  // takes ownership of a buffer it can free.
  static const char kLabel[] = "IDENTITY";
  auto* label = static_cast<unsigned char*>(OPENSSL_memdup(kLabel, sizeof(kLabel)));
  if (!label || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label, sizeof(kLabel)) != 1) {
    OPENSSL_free(label);
    return CaFail("RSA-OAEP label failed");
  }
  size_t size = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &size, seed.data(), seed.size()) != 1) {
    return CaFail("RSA-OAEP failed");
  }
  Bytes out(size);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &size, seed.data(), seed.size()) != 1) {
    return CaFail("RSA-OAEP failed");
  }
  out.resize(size);
  return out;
}

CaResult<Bytes> AesCfb(ByteView key, ByteView plain) {
  const EVP_CIPHER* cipher = key.size() == 16 ? EVP_aes_128_cfb128()
                             : key.size() == 32 ? EVP_aes_256_cfb128()
                                                : nullptr;
  if (!cipher) return CaFail("unsupported EK symmetric key size");
  std::unique_ptr<EVP_CIPHER_CTX, webauthn::OpenSslDeleter<EVP_CIPHER_CTX_free>> ctx(
      EVP_CIPHER_CTX_new());
  const unsigned char iv[16] = {};
  Bytes out(plain.size() + 16);
  int n = 0, tail = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &n, plain.data(), static_cast<int>(plain.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &tail) != 1) {
    return CaFail("AES-CFB failed");
  }
  out.resize(static_cast<size_t>(n + tail));
  return out;
}

}  // namespace

CaResult<webauthn::EvpPkeyPtr> RsaPublicKey(const TPMT_PUBLIC& area) {
  if (area.type != TPM2_ALG_RSA) return CaFail("not an RSA key");
  webauthn::BignumPtr n(BN_bin2bn(area.unique.rsa.buffer, area.unique.rsa.size, nullptr));
  webauthn::BignumPtr e(BN_new());
  const uint32_t exponent = area.parameters.rsaDetail.exponent;
  webauthn::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || BN_set_word(e.get(), exponent ? exponent : 65537) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return CaFail("out of memory");
  }
  webauthn::OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  webauthn::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return CaFail("the TPM key's RSA public key is unusable");
  }
  return webauthn::EvpPkeyPtr(key);
}

CaResult<Bytes> KdfaSha256(ByteView key, std::string_view label, ByteView context_u,
                           ByteView context_v, size_t bits) {
  if (bits == 0 || bits % 8 != 0) return CaFail("KDFa: bits must be a positive multiple of 8");
  std::unique_ptr<EVP_KDF, webauthn::OpenSslDeleter<EVP_KDF_free>> kdf(
      EVP_KDF_fetch(nullptr, "KBKDF", nullptr));
  std::unique_ptr<EVP_KDF_CTX, webauthn::OpenSslDeleter<EVP_KDF_CTX_free>> ctx(
      kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return CaFail("KBKDF unavailable");
  Bytes context(context_u.begin(), context_u.end());
  context.insert(context.end(), context_v.begin(), context_v.end());
  std::string mode = "COUNTER", mac = "HMAC", digest = "SHA256";
  std::string salt(label);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, mode.data(), 0),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, mac.data(), 0),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key.data()),
                                        key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, context.data(), context.size()),
      OSSL_PARAM_construct_end()};
  Bytes out(bits / 8);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return CaFail("KDFa failed");
  }
  return out;
}

CaResult<SealedCredential> MakeCredential(const TPMT_PUBLIC& ek, ByteView object_name,
                                          ByteView credential) {
  const TPMS_RSA_PARMS& rsa = ek.parameters.rsaDetail;
  if (ek.type != TPM2_ALG_RSA || ek.nameAlg != TPM2_ALG_SHA256 ||
      rsa.symmetric.algorithm != TPM2_ALG_AES || rsa.symmetric.mode.aes != TPM2_ALG_CFB ||
      (rsa.symmetric.keyBits.aes != 128 && rsa.symmetric.keyBits.aes != 256)) {
    return CaFail("the EK is not an RSA key with SHA-256 and AES-CFB parameters");
  }
  if (credential.empty() || credential.size() > kDigestSize) {
    return CaFail("a credential is 1-32 bytes");
  }
  auto key = RsaPublicKey(ek);
  if (!key) return key.error();
  Wiped seed{Bytes(kDigestSize)};
  if (RAND_bytes(seed.bytes.data(), static_cast<int>(seed.bytes.size())) != 1) {
    return CaFail("the random generator failed");
  }
  auto secret = OaepEncrypt(key->get(), seed.bytes);
  if (!secret) return secret.error();
  auto sym = KdfaSha256(seed.bytes, "STORAGE", object_name, {}, rsa.symmetric.keyBits.aes);
  if (!sym) return sym.error();
  Wiped sym_key{std::move(*sym)};
  auto hmac = KdfaSha256(seed.bytes, "INTEGRITY", {}, {}, 8 * kDigestSize);
  if (!hmac) return hmac.error();
  Wiped hmac_key{std::move(*hmac)};

  Bytes plain;
  PutBe16(plain, credential.size());
  plain.insert(plain.end(), credential.begin(), credential.end());
  auto enc_identity = AesCfb(sym_key.bytes, plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!enc_identity) return enc_identity.error();
  Bytes mac_input = *enc_identity;
  mac_input.insert(mac_input.end(), object_name.begin(), object_name.end());
  unsigned char outer[EVP_MAX_MD_SIZE];
  unsigned int outer_size = 0;
  if (!HMAC(EVP_sha256(), hmac_key.bytes.data(), static_cast<int>(hmac_key.bytes.size()),
            mac_input.data(), mac_input.size(), outer, &outer_size) ||
      outer_size != kDigestSize) {
    return CaFail("HMAC failed");
  }
  SealedCredential out;
  PutBe16(out.id_object, 2 + kDigestSize + enc_identity->size());
  PutBe16(out.id_object, kDigestSize);
  out.id_object.insert(out.id_object.end(), outer, outer + kDigestSize);
  out.id_object.insert(out.id_object.end(), enc_identity->begin(), enc_identity->end());
  PutBe16(out.encrypted_secret, secret->size());
  out.encrypted_secret.insert(out.encrypted_secret.end(), secret->begin(), secret->end());
  return out;
}

}  // namespace tpmauthn::attestation_ca
