// ESAPI's host-side cryptography on OpenSSL, algorithms fetched once.
#include "tpm/host_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <array>
#include <climits>
#include <cstring>
#include <new>

#include "webauthn/openssl_ptr.h"

namespace tpmauthn::tpm::host_crypto {

using webauthn::BignumPtr;
using webauthn::EvpPkeyCtxPtr;
using webauthn::EvpPkeyPtr;
using webauthn::OpenSslDeleter;
using webauthn::OsslParamBldPtr;
using webauthn::OsslParamPtr;

struct Digest {
  EVP_MD_CTX* md = nullptr;
  EVP_MAC_CTX* mac = nullptr;
  size_t length = 0;
  ~Digest() {
    EVP_MD_CTX_free(md);
    EVP_MAC_CTX_free(mac);  // clears the key
  }
};

namespace {

using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OpenSslDeleter<EVP_MAC_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX_free>>;

EVP_MAC_CTX* HmacTemplate(EVP_MAC* hmac, const char* digest_name) {
  if (!hmac) return nullptr;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac);
  if (!ctx) return nullptr;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

// OpenSSL's name for a TPM hash (nullptr: not one this file supports).
const char* HashName(TPM2_ALG_ID alg) {
  switch (alg) {
    case TPM2_ALG_SHA1: return "SHA1";
    case TPM2_ALG_SHA256: return "SHA256";
    case TPM2_ALG_SHA384: return "SHA384";
    case TPM2_ALG_SHA512: return "SHA512";
    default: return nullptr;
  }
}

struct Curve {
  const char* group;
  size_t field_bytes;
};

bool CurveOf(TPMI_ECC_CURVE id, Curve* curve) {
  switch (id) {
    case TPM2_ECC_NIST_P256: *curve = {"P-256", 32}; return true;
    case TPM2_ECC_NIST_P384: *curve = {"P-384", 48}; return true;
    case TPM2_ECC_NIST_P521: *curve = {"P-521", 66}; return true;
    default: return false;
  }
}

// Left-pads a big-endian coordinate to the field size.
bool PadInto(const TPM2B_ECC_PARAMETER& coordinate, size_t field, uint8_t* out) {
  if (coordinate.size > field) return false;
  std::memset(out, 0, field - coordinate.size);
  std::memcpy(out + field - coordinate.size, coordinate.buffer, coordinate.size);
  return true;
}

// A public key of `type` ("EC", "RSA") from the parameters in `bld`.
EvpPkeyPtr PublicKeyFrom(const char* type, OSSL_PARAM_BLD* bld) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return nullptr;
  }
  return EvpPkeyPtr(raw);
}

EvpPkeyPtr EcPublicKey(const Curve& curve, const uint8_t* point, size_t size) {
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, size)) {
    return nullptr;
  }
  // fromdata decodes the point with EC_POINT_oct2point: off-curve is refused.
  return PublicKeyFrom("EC", bld.get());
}

}  // namespace

std::unique_ptr<Algorithms> Algorithms::Fetch() {
  std::unique_ptr<Algorithms> out(new (std::nothrow) Algorithms);
  if (!out) return nullptr;
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  const TPM2_ALG_ID algs[] = {TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512};
  for (size_t i = 0; i < out->hashes_.size(); ++i) {
    Hash& h = out->hashes_[i];
    h.alg = algs[i];
    h.name = HashName(h.alg);
    h.md = EVP_MD_fetch(nullptr, h.name, nullptr);
    h.hmac_template = HmacTemplate(hmac, h.name);
  }
  EVP_MAC_free(hmac);  // each template holds its own reference
  const char* ciphers[] = {"AES-128-CFB", "AES-192-CFB", "AES-256-CFB"};
  for (size_t i = 0; i < out->aes_cfb_.size(); ++i) {
    out->aes_cfb_[i] = EVP_CIPHER_fetch(nullptr, ciphers[i], nullptr);
  }
  for (const Hash& h : out->hashes_) {
    if (!h.md || !h.hmac_template) return nullptr;
  }
  for (const EVP_CIPHER* c : out->aes_cfb_) {
    if (!c) return nullptr;
  }
  return out;
}

Algorithms::~Algorithms() {
  for (Hash& h : hashes_) {
    EVP_MD_free(h.md);
    EVP_MAC_CTX_free(h.hmac_template);
  }
  for (EVP_CIPHER* c : aes_cfb_) EVP_CIPHER_free(c);
}

const Algorithms::Hash* Algorithms::Find(TPM2_ALG_ID alg) const {
  for (const Hash& h : hashes_) {
    if (h.alg == alg) return &h;
  }
  return nullptr;
}

const EVP_CIPHER* Algorithms::AesCfb(uint16_t key_bits) const {
  switch (key_bits) {
    case 128: return aes_cfb_[0];
    case 192: return aes_cfb_[1];
    case 256: return aes_cfb_[2];
    default: return nullptr;
  }
}

TSS2_RC HashStart(const Algorithms& algorithms, Digest** digest, TPM2_ALG_ID hash_alg) {
  if (!digest) return TSS2_ESYS_RC_BAD_REFERENCE;
  const Algorithms::Hash* hash = algorithms.Find(hash_alg);
  if (!hash) return TSS2_ESYS_RC_NOT_IMPLEMENTED;
  std::unique_ptr<Digest> d(new (std::nothrow) Digest);
  if (!d) return TSS2_ESYS_RC_MEMORY;
  d->md = EVP_MD_CTX_new();
  if (!d->md) return TSS2_ESYS_RC_MEMORY;
  if (EVP_DigestInit_ex2(d->md, hash->md, nullptr) != 1) return TSS2_ESYS_RC_GENERAL_FAILURE;
  d->length = static_cast<size_t>(EVP_MD_get_size(hash->md));
  *digest = d.release();
  return TSS2_RC_SUCCESS;
}

TSS2_RC HmacStart(const Algorithms& algorithms, Digest** digest, TPM2_ALG_ID hash_alg,
                  const uint8_t* key, size_t key_size) {
  if (!digest || (!key && key_size)) return TSS2_ESYS_RC_BAD_REFERENCE;
  const Algorithms::Hash* hash = algorithms.Find(hash_alg);
  if (!hash) return TSS2_ESYS_RC_NOT_IMPLEMENTED;
  std::unique_ptr<Digest> d(new (std::nothrow) Digest);
  if (!d) return TSS2_ESYS_RC_MEMORY;
  d->mac = EVP_MAC_CTX_dup(hash->hmac_template);
  if (!d->mac) return TSS2_ESYS_RC_MEMORY;
  // A null key would mean "the previous key" to EVP_MAC_init; an empty key
  // (an unbound, unsalted session with an empty authValue) is a valid one.
  static const uint8_t kEmpty = 0;
  if (EVP_MAC_init(d->mac, key_size ? key : &kEmpty, key_size, nullptr) != 1) {
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  d->length = EVP_MAC_CTX_get_mac_size(d->mac);
  *digest = d.release();
  return TSS2_RC_SUCCESS;
}

TSS2_RC Update(Digest* digest, const uint8_t* data, size_t size) {
  if (!digest || (!data && size)) return TSS2_ESYS_RC_BAD_REFERENCE;
  const int ok = digest->md ? EVP_DigestUpdate(digest->md, data, size)
                            : EVP_MAC_update(digest->mac, data, size);
  return ok == 1 ? TSS2_RC_SUCCESS : TSS2_ESYS_RC_GENERAL_FAILURE;
}

TSS2_RC Finish(Digest** digest, uint8_t* out, size_t* size) {
  if (!digest || !*digest || !out || !size) return TSS2_ESYS_RC_BAD_REFERENCE;
  std::unique_ptr<Digest> d(*digest);
  *digest = nullptr;
  if (*size < d->length) return TSS2_ESYS_RC_BAD_SIZE;
  size_t written = 0;
  if (d->md) {
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(d->md, out, &length) != 1) return TSS2_ESYS_RC_GENERAL_FAILURE;
    written = length;
  } else if (EVP_MAC_final(d->mac, out, &written, *size) != 1) {
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  if (written != d->length) return TSS2_ESYS_RC_GENERAL_FAILURE;
  *size = written;
  return TSS2_RC_SUCCESS;
}

void Abort(Digest** digest) {
  if (!digest) return;
  delete *digest;
  *digest = nullptr;
}

TSS2_RC Random(TPM2B_NONCE* nonce, size_t size) {
  if (!nonce) return TSS2_ESYS_RC_BAD_REFERENCE;
  if (size > sizeof(nonce->buffer)) return TSS2_ESYS_RC_BAD_SIZE;
  const size_t n = size ? size : sizeof(nonce->buffer);
  if (RAND_bytes(nonce->buffer, static_cast<int>(n)) != 1) return TSS2_ESYS_RC_GENERAL_FAILURE;
  nonce->size = static_cast<UINT16>(n);
  return TSS2_RC_SUCCESS;
}

TSS2_RC EcdhPoint(const TPM2B_PUBLIC& key, size_t out_capacity, TPM2B_ECC_PARAMETER* z,
                  TPMS_ECC_POINT* q, uint8_t* out, size_t* out_size) {
  if (!z || !q || !out || !out_size) return TSS2_ESYS_RC_BAD_REFERENCE;
  if (key.publicArea.type != TPM2_ALG_ECC) return TSS2_ESYS_RC_BAD_VALUE;
  Curve curve{};
  if (!CurveOf(key.publicArea.parameters.eccDetail.curveID, &curve)) {
    return TSS2_ESYS_RC_NOT_IMPLEMENTED;
  }
  const size_t field = curve.field_bytes;
  std::array<uint8_t, 1 + 2 * 66> point{};
  point[0] = 0x04;  // uncompressed
  if (!PadInto(key.publicArea.unique.ecc.x, field, point.data() + 1) ||
      !PadInto(key.publicArea.unique.ecc.y, field, point.data() + 1 + field)) {
    return TSS2_ESYS_RC_BAD_VALUE;
  }
  EvpPkeyPtr tpm_key = EcPublicKey(curve, point.data(), 1 + 2 * field);
  if (!tpm_key) return TSS2_ESYS_RC_BAD_VALUE;  // not a point on the curve

  EvpPkeyPtr ephemeral(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.group));
  if (!ephemeral) return TSS2_ESYS_RC_GENERAL_FAILURE;
  EvpPkeyCtxPtr derive(EVP_PKEY_CTX_new_from_pkey(nullptr, ephemeral.get(), nullptr));
  size_t z_size = sizeof(z->buffer);
  if (!derive || EVP_PKEY_derive_init(derive.get()) != 1 ||
      EVP_PKEY_derive_set_peer(derive.get(), tpm_key.get()) != 1 ||
      EVP_PKEY_derive(derive.get(), z->buffer, &z_size) != 1 || z_size != field) {
    OPENSSL_cleanse(z->buffer, sizeof(z->buffer));
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  z->size = static_cast<UINT16>(field);

  size_t point_size = 0;
  if (EVP_PKEY_get_octet_string_param(ephemeral.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                      point.size(), &point_size) != 1 ||
      point_size != 1 + 2 * field || point[0] != 0x04) {
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  q->x.size = static_cast<UINT16>(field);
  q->y.size = static_cast<UINT16>(field);
  std::memcpy(q->x.buffer, point.data() + 1, field);
  std::memcpy(q->y.buffer, point.data() + 1 + field, field);
  size_t offset = 0;
  const TSS2_RC rc = Tss2_MU_TPMS_ECC_POINT_Marshal(q, out, out_capacity, &offset);
  if (rc != TSS2_RC_SUCCESS) return rc;
  *out_size = offset;
  return TSS2_RC_SUCCESS;
}

TSS2_RC AesCfb(const Algorithms& algorithms, bool encrypt, const uint8_t* key, TPM2_ALG_ID alg,
               uint16_t key_bits, TPM2_ALG_ID mode, uint8_t* buffer, size_t size,
               const uint8_t* iv) {
  if (!key || (!buffer && size) || !iv) return TSS2_ESYS_RC_BAD_REFERENCE;
  if (alg != TPM2_ALG_AES || mode != TPM2_ALG_CFB) return TSS2_ESYS_RC_BAD_VALUE;
  if (size > INT_MAX) return TSS2_ESYS_RC_BAD_SIZE;
  const EVP_CIPHER* cipher = algorithms.AesCfb(key_bits);
  if (!cipher) return TSS2_ESYS_RC_BAD_VALUE;
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  int final_length = 0;
  if (!ctx || EVP_CipherInit_ex2(ctx.get(), cipher, key, iv, encrypt ? 1 : 0, nullptr) != 1 ||
      EVP_CipherUpdate(ctx.get(), buffer, &length, buffer, static_cast<int>(size)) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), buffer + length, &final_length) != 1 ||
      static_cast<size_t>(length + final_length) != size) {
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  return TSS2_RC_SUCCESS;
}

TSS2_RC RsaOaepEncrypt(const TPM2B_PUBLIC& key, const uint8_t* in, size_t in_size,
                       const char* label, uint8_t* out, size_t out_capacity, size_t* out_size) {
  if ((!in && in_size) || !label || !out || !out_size) return TSS2_ESYS_RC_BAD_REFERENCE;
  const TPMT_PUBLIC& area = key.publicArea;
  if (area.type != TPM2_ALG_RSA) return TSS2_ESYS_RC_BAD_VALUE;
  const char* hash_name = HashName(area.nameAlg);
  if (!hash_name) return TSS2_ESYS_RC_NOT_IMPLEMENTED;
  const uint32_t exponent = area.parameters.rsaDetail.exponent ? area.parameters.rsaDetail.exponent
                                                               : 65537;
  BignumPtr n(BN_bin2bn(area.unique.rsa.buffer, area.unique.rsa.size, nullptr));
  BignumPtr e(BN_new());
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || BN_set_word(e.get(), exponent) != 1 ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())) {
    return TSS2_ESYS_RC_MEMORY;
  }
  EvpPkeyPtr rsa = PublicKeyFrom("RSA", bld.get());
  if (!rsa) return TSS2_ESYS_RC_BAD_VALUE;
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, rsa.get(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx.get(), hash_name, nullptr) != 1) {
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  // The label is the TPM's "SECRET" etc. with its terminating NUL.
  const size_t label_size = std::strlen(label) + 1;
  void* label_copy = OPENSSL_memdup(label, label_size);
  if (!label_copy) return TSS2_ESYS_RC_MEMORY;
  if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label_copy, static_cast<int>(label_size)) != 1) {
    OPENSSL_free(label_copy);
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  size_t needed = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &needed, in, in_size) != 1) {
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  if (needed > out_capacity) return TSS2_ESYS_RC_BAD_SIZE;
  size_t written = out_capacity;
  if (EVP_PKEY_encrypt(ctx.get(), out, &written, in, in_size) != 1) {
    return TSS2_ESYS_RC_GENERAL_FAILURE;
  }
  *out_size = written;
  return TSS2_RC_SUCCESS;
}

#ifdef TPMAUTHN_HAVE_ESYS_CRYPTO_CALLBACKS
namespace {

// ESAPI's signatures around the functions above. ESAPI's context blob is
// opaque to it: here it is always a Digest; userdata is the Algorithms.
Digest** AsDigest(ESYS_CRYPTO_CONTEXT_BLOB** blob) { return reinterpret_cast<Digest**>(blob); }
const Algorithms& Of(void* userdata) { return *static_cast<const Algorithms*>(userdata); }

TSS2_RC EsysHashStart(ESYS_CRYPTO_CONTEXT_BLOB** blob, TPM2_ALG_ID alg, void* userdata) {
  return HashStart(Of(userdata), AsDigest(blob), alg);
}
TSS2_RC EsysHmacStart(ESYS_CRYPTO_CONTEXT_BLOB** blob, TPM2_ALG_ID alg, const uint8_t* key,
                      size_t size, void* userdata) {
  return HmacStart(Of(userdata), AsDigest(blob), alg, key, size);
}
TSS2_RC EsysUpdate(ESYS_CRYPTO_CONTEXT_BLOB* blob, const uint8_t* data, size_t size, void*) {
  return Update(reinterpret_cast<Digest*>(blob), data, size);
}
TSS2_RC EsysFinish(ESYS_CRYPTO_CONTEXT_BLOB** blob, uint8_t* out, size_t* size, void*) {
  return Finish(AsDigest(blob), out, size);
}
void EsysAbort(ESYS_CRYPTO_CONTEXT_BLOB** blob, void*) { Abort(AsDigest(blob)); }
TSS2_RC EsysRandom(TPM2B_NONCE* nonce, size_t size, void*) { return Random(nonce, size); }
TSS2_RC EsysEcdh(TPM2B_PUBLIC* key, size_t capacity, TPM2B_ECC_PARAMETER* z, TPMS_ECC_POINT* q,
                 BYTE* out, size_t* out_size, void*) {
  if (!key) return TSS2_ESYS_RC_BAD_REFERENCE;
  return EcdhPoint(*key, capacity, z, q, out, out_size);
}
TSS2_RC EsysAes(bool encrypt, uint8_t* key, TPM2_ALG_ID alg, TPMI_AES_KEY_BITS bits,
                TPM2_ALG_ID mode, uint8_t* buffer, size_t size, uint8_t* iv, void* userdata) {
  return AesCfb(Of(userdata), encrypt, key, alg, bits, mode, buffer, size, iv);
}
TSS2_RC EsysAesEncrypt(uint8_t* key, TPM2_ALG_ID alg, TPMI_AES_KEY_BITS bits, TPM2_ALG_ID mode,
                       uint8_t* buffer, size_t size, uint8_t* iv, void* userdata) {
  return EsysAes(true, key, alg, bits, mode, buffer, size, iv, userdata);
}
TSS2_RC EsysAesDecrypt(uint8_t* key, TPM2_ALG_ID alg, TPMI_AES_KEY_BITS bits, TPM2_ALG_ID mode,
                       uint8_t* buffer, size_t size, uint8_t* iv, void* userdata) {
  return EsysAes(false, key, alg, bits, mode, buffer, size, iv, userdata);
}
TSS2_RC EsysRsaEncrypt(TPM2B_PUBLIC* key, size_t in_size, BYTE* in, size_t capacity, BYTE* out,
                       size_t* out_size, const char* label, void*) {
  if (!key) return TSS2_ESYS_RC_BAD_REFERENCE;
  return RsaOaepEncrypt(*key, in, in_size, label, out, capacity, out_size);
}

}  // namespace

TSS2_RC Install(ESYS_CONTEXT* esys, const Algorithms& algorithms, bool* installed) {
  *installed = false;
  ESYS_CRYPTO_CALLBACKS callbacks{};
  callbacks.rsa_pk_encrypt = EsysRsaEncrypt;
  callbacks.hash_start = EsysHashStart;
  callbacks.hash_update = EsysUpdate;
  callbacks.hash_finish = EsysFinish;
  callbacks.hash_abort = EsysAbort;
  callbacks.hmac_start = EsysHmacStart;
  callbacks.hmac_update = EsysUpdate;
  callbacks.hmac_finish = EsysFinish;
  callbacks.hmac_abort = EsysAbort;
  callbacks.get_random2b = EsysRandom;
  callbacks.get_ecdh_point = EsysEcdh;
  callbacks.aes_encrypt = EsysAesEncrypt;
  callbacks.aes_decrypt = EsysAesDecrypt;
  // sm4_*: ESAPI's own (see the header); init: Algorithms::Fetch did it.
  callbacks.userdata = const_cast<Algorithms*>(&algorithms);
  const TSS2_RC rc = Esys_SetCryptoCallbacks(esys, &callbacks);
  *installed = rc == TSS2_RC_SUCCESS;
  return rc;
}
#else
TSS2_RC Install(ESYS_CONTEXT*, const Algorithms&, bool* installed) {
  *installed = false;
  return TSS2_RC_SUCCESS;
}
#endif

}  // namespace tpmauthn::tpm::host_crypto
