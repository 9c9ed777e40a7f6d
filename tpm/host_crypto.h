// ESAPI's host-side cryptography — session HMACs, AES-CFB parameter
// encryption, the ECDH or RSA-OAEP salt for sessions bound to the SRK — on
// OpenSSL's default library context, each algorithm fetched once per
// connection (Algorithms, owned by the Connection; nothing process-wide, so
// a PAM module that is unloaded after each login leaves nothing behind).
//
// tpm2-tss 4.x lets the caller supply these (Esys_SetCryptoCallbacks); its
// own OpenSSL backend makes a new OSSL_LIB_CTX for every hash, HMAC and
// random call, and fetching algorithms into that fresh context was 59% of
// the host instructions an assertion cost on tpm2-tss 4.1.3
// (docs/performance.md). tpm2-tss 3.2.1 has no such hook: there ESAPI's
// built-in backend stays in use and Install() reports so. The functions are
// plain C++ so that their known-answer tests run on both.
//
// What this does not do: SM4 (ESAPI keeps its own; no TPM this project
// talks to negotiates it), RSA schemes other than OAEP (ESAPI always asks
// for OAEP when it encrypts a salt, TPM 2.0 Part 1 §24.3).
#pragma once

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tpmauthn::tpm::host_crypto {

// Whether this tpm2-tss lets ESAPI use these functions (4.0 and later).
#ifdef TPMAUTHN_HAVE_ESYS_CRYPTO_CALLBACKS
inline constexpr bool kHookAvailable = true;
#else
inline constexpr bool kHookAvailable = false;
#endif

// The digests, HMAC contexts (digest set, duplicated per HMAC) and AES-CFB
// ciphers, fetched once from OpenSSL's default library context.
class Algorithms {
 public:
  // nullptr if OpenSSL cannot provide one of them.
  static std::unique_ptr<Algorithms> Fetch();
  ~Algorithms();
  Algorithms(const Algorithms&) = delete;
  Algorithms& operator=(const Algorithms&) = delete;

  struct Hash {
    TPM2_ALG_ID alg = TPM2_ALG_NULL;
    const char* name = nullptr;
    EVP_MD* md = nullptr;
    EVP_MAC_CTX* hmac_template = nullptr;
  };
  const Hash* Find(TPM2_ALG_ID alg) const;  // SHA-1/256/384/512, else nullptr
  const EVP_CIPHER* AesCfb(uint16_t key_bits) const;  // 128/192/256, else nullptr

 private:
  Algorithms() = default;
  std::array<Hash, 4> hashes_{};
  std::array<EVP_CIPHER*, 3> aes_cfb_{};
};

// A hash or HMAC in progress. Finish and Abort free it and null the pointer.
struct Digest;

TSS2_RC HashStart(const Algorithms& algorithms, Digest** digest, TPM2_ALG_ID hash_alg);
TSS2_RC HmacStart(const Algorithms& algorithms, Digest** digest, TPM2_ALG_ID hash_alg,
                  const uint8_t* key, size_t key_size);
TSS2_RC Update(Digest* digest, const uint8_t* data, size_t size);
// Writes the result to `out` (capacity *size, which must hold it) and sets
// *size to its length.
TSS2_RC Finish(Digest** digest, uint8_t* out, size_t* size);
void Abort(Digest** digest);

// `size` random bytes from OpenSSL's DRBG (0: the whole buffer).
TSS2_RC Random(TPM2B_NONCE* nonce, size_t size);

// TPM 2.0 Part 1 §C.6.1: an ephemeral key Q on `key`'s curve, Z = x of
// (ephemeral private × key's point); Q also marshalled (TPMS_ECC_POINT) to
// `out` (capacity `out_capacity`). `key`'s point must be on its curve.
TSS2_RC EcdhPoint(const TPM2B_PUBLIC& key, size_t out_capacity, TPM2B_ECC_PARAMETER* z,
                  TPMS_ECC_POINT* q, uint8_t* out, size_t* out_size);

// AES in CFB mode in place (`mode` must be TPM2_ALG_CFB, `alg` TPM2_ALG_AES).
TSS2_RC AesCfb(const Algorithms& algorithms, bool encrypt, const uint8_t* key, TPM2_ALG_ID alg,
               uint16_t key_bits, TPM2_ALG_ID mode, uint8_t* buffer, size_t size,
               const uint8_t* iv);

// RSA-OAEP with `key`'s nameAlg and the label `label` including its NUL
// (TPM 2.0 Part 1 §B.4), into `out` (capacity `out_capacity`).
TSS2_RC RsaOaepEncrypt(const TPM2B_PUBLIC& key, const uint8_t* in, size_t in_size,
                       const char* label, uint8_t* out, size_t out_capacity, size_t* out_size);

// Makes `esys` use the functions above, with `algorithms` (which must
// outlive `esys`), where tpm2-tss offers the hook (kHookAvailable);
// *installed says whether it did. An error means the hook refused them.
TSS2_RC Install(ESYS_CONTEXT* esys, const Algorithms& algorithms, bool* installed);

}  // namespace tpmauthn::tpm::host_crypto
