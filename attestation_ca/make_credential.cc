// TPM2_MakeCredential in OpenSSL 3 (see make_credential.h).
#include "attestation_ca/make_credential.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <tss2/tss2_mu.h>

#include <cstring>
#include <memory>
#include <string>

#include "webauthn/openssl_ptr.h"

namespace tpmauthn::attestation_ca {
namespace {

using webauthn::Bytes;
using webauthn::ByteView;

constexpr size_t kDigestSize = 32;  // SHA-256, the EK's nameAlg
constexpr size_t kP256Field = 32;

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

// The ECC EK's point as OpenSSL's uncompressed octet string (P-256 only).
CaResult<webauthn::EvpPkeyPtr> EccPublicKey(const TPMT_PUBLIC& area) {
  const TPMS_ECC_POINT& q = area.unique.ecc;
  if (area.type != TPM2_ALG_ECC || area.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
      q.x.size == 0 || q.x.size > kP256Field || q.y.size == 0 || q.y.size > kP256Field) {
    return CaFail("not a NIST P-256 key");
  }
  uint8_t point[1 + 2 * kP256Field] = {0x04};
  std::memcpy(point + 1 + kP256Field - q.x.size, q.x.buffer, q.x.size);
  std::memcpy(point + 1 + 2 * kP256Field - q.y.size, q.y.buffer, q.y.size);
  webauthn::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                              "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                       sizeof(point)) != 1) {
    return CaFail("out of memory");
  }
  webauthn::OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  webauthn::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  // fromdata refuses a point that is not on the curve.
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return CaFail("the TPM key's point is not on P-256");
  }
  return webauthn::EvpPkeyPtr(key);
}

// KDFe with SHA-256 (Part 1 §11.4.10.3) for one 256-bit block, as OpenSSL's
// single-step KDF (SP 800-56C: H(BE32(1) ‖ Z ‖ fixedInfo)) with fixedInfo =
// "IDENTITY\0" ‖ x(QeU) ‖ x(QsV).
CaResult<Bytes> KdfeSha256Identity(ByteView z, ByteView party_u, ByteView party_v) {
  std::unique_ptr<EVP_KDF, webauthn::OpenSslDeleter<EVP_KDF_free>> kdf(
      EVP_KDF_fetch(nullptr, "SSKDF", nullptr));
  std::unique_ptr<EVP_KDF_CTX, webauthn::OpenSslDeleter<EVP_KDF_CTX_free>> ctx(
      kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return CaFail("SSKDF unavailable");
  static const char kLabel[] = "IDENTITY";
  Bytes info(kLabel, kLabel + sizeof(kLabel));  // with its NUL
  info.insert(info.end(), party_u.begin(), party_u.end());
  info.insert(info.end(), party_v.begin(), party_v.end());
  std::string digest = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(z.data()),
                                        z.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  Bytes out(kDigestSize);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return CaFail("KDFe failed");
  }
  return out;
}

// The seed for an ECC EK (Part 1 §24.4 with §C.6.4 "ECC Secret Sharing"): an
// ephemeral P-256 key QeU, Z = x(ECDH(QeU, EK)), seed = KDFe(Z, "IDENTITY",
// x(QeU), x(EK)); the encrypted secret is QeU as a marshalled TPMS_ECC_POINT.
CaResult<void> EccSeed(const TPMT_PUBLIC& ek, Bytes& seed, Bytes& secret) {
  auto ek_key = EccPublicKey(ek);
  if (!ek_key) return ek_key.error();
  webauthn::EvpPkeyPtr ephemeral(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "prime256v1"));
  webauthn::EvpPkeyCtxPtr ctx(
      ephemeral ? EVP_PKEY_CTX_new_from_pkey(nullptr, ephemeral.get(), nullptr) : nullptr);
  Wiped z{Bytes(kP256Field)};
  size_t z_size = z.bytes.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), ek_key->get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), z.bytes.data(), &z_size) != 1 || z_size != kP256Field) {
    return CaFail("ECDH with the EK failed");
  }
  uint8_t point[1 + 2 * kP256Field];
  size_t point_size = 0;
  if (EVP_PKEY_get_octet_string_param(ephemeral.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                      sizeof(point), &point_size) != 1 ||
      point_size != sizeof(point) || point[0] != 0x04) {
    return CaFail("cannot encode the ephemeral key");
  }
  TPMS_ECC_POINT q{};
  q.x.size = q.y.size = kP256Field;
  std::memcpy(q.x.buffer, point + 1, kP256Field);
  std::memcpy(q.y.buffer, point + 1 + kP256Field, kP256Field);
  const TPM2B_ECC_PARAMETER& ek_x = ek.unique.ecc.x;
  auto derived = KdfeSha256Identity(z.bytes, ByteView(q.x.buffer, q.x.size),
                                    ByteView(ek_x.buffer, ek_x.size));
  if (!derived) return derived.error();
  seed = std::move(*derived);
  uint8_t marshalled[sizeof(TPMS_ECC_POINT)];
  size_t offset = 0;
  if (Tss2_MU_TPMS_ECC_POINT_Marshal(&q, marshalled, sizeof(marshalled), &offset) !=
      TSS2_RC_SUCCESS) {
    return CaFail("cannot marshal the ephemeral key");
  }
  secret.assign(marshalled, marshalled + offset);
  return {};
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
  const bool rsa = ek.type == TPM2_ALG_RSA;
  if (!rsa && !(ek.type == TPM2_ALG_ECC &&
                ek.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256)) {
    return CaFail("the EK is neither an RSA nor a NIST P-256 key");
  }
  const TPMT_SYM_DEF_OBJECT& symmetric =
      rsa ? ek.parameters.rsaDetail.symmetric : ek.parameters.eccDetail.symmetric;
  if (ek.nameAlg != TPM2_ALG_SHA256 || symmetric.algorithm != TPM2_ALG_AES ||
      symmetric.mode.aes != TPM2_ALG_CFB ||
      (symmetric.keyBits.aes != 128 && symmetric.keyBits.aes != 256)) {
    return CaFail("the EK's parameters are not SHA-256 with AES-CFB");
  }
  if (credential.empty() || credential.size() > kDigestSize) {
    return CaFail("a credential is 1-32 bytes");
  }
  Wiped seed;
  Bytes secret;
  if (rsa) {
    auto key = RsaPublicKey(ek);
    if (!key) return key.error();
    seed.bytes.resize(kDigestSize);
    if (RAND_bytes(seed.bytes.data(), static_cast<int>(seed.bytes.size())) != 1) {
      return CaFail("the random generator failed");
    }
    auto encrypted = OaepEncrypt(key->get(), seed.bytes);
    if (!encrypted) return encrypted.error();
    secret = std::move(*encrypted);
  } else if (auto ok = EccSeed(ek, seed.bytes, secret); !ok) {
    return ok.error();
  }
  auto sym = KdfaSha256(seed.bytes, "STORAGE", object_name, {}, symmetric.keyBits.aes);
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
  PutBe16(out.encrypted_secret, secret.size());
  out.encrypted_secret.insert(out.encrypted_secret.end(), secret.begin(), secret.end());
  return out;
}

}  // namespace tpmauthn::attestation_ca
