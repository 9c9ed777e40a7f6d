// COSE_Key (RFC 9052 §7, RFC 9053 §7, RFC 8230) for the algorithms WebAuthn
// relying parties meet: ES256 (EC2 P-256), EdDSA (OKP Ed25519), RS256 (RSA).
#pragma once

#include <cstdint>
#include <string_view>

#include "webauthn/bytes.h"
#include "webauthn/openssl_ptr.h"
#include "webauthn/result.h"

namespace tpmauthn::webauthn {

// COSE algorithm identifiers (IANA "COSE Algorithms").
enum class CoseAlgorithm : int64_t {
  kES256 = -7,
  kEdDSA = -8,
  kRS256 = -257,
};

std::string_view ToString(CoseAlgorithm alg);

inline constexpr size_t kMinRsaModulusBits = 2048;
inline constexpr size_t kMaxRsaModulusBits = 16384;

// A parsed, validated credential public key.
class CoseKey {
 public:
  // Parses a COSE_Key map. Requires `kty` and `alg` and the members of that key
  // type; rejects other algorithms, curves other than P-256/Ed25519, points not
  // on the curve, RSA moduli outside [2048, 16384] bits, private-key members,
  // unknown members and trailing bytes. Errors carry Check::kPublicKey.
  static Result<CoseKey> Parse(ByteView cbor);

  // Builds the COSE_Key of an OpenSSL public key (P-256 → ES256, Ed25519 →
  // EdDSA, RSA → RS256) in CTAP2 canonical CBOR.
  static Result<CoseKey> FromEvpPkey(EVP_PKEY* key);

  CoseAlgorithm algorithm() const { return algorithm_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }
  // The canonical CBOR encoding of this key.
  const Bytes& encoded() const { return encoded_; }

  // Verifies `signature` over `message` with this key's algorithm. ES256
  // signatures must be DER ECDSA-Sig-Value (raw r||s is rejected); EdDSA is
  // PureEdDSA; RS256 is RSASSA-PKCS1-v1_5 with SHA-256. Errors carry
  // Check::kSignature and say why.
  Result<void> Verify(ByteView message, ByteView signature) const;

 private:
  CoseKey(CoseAlgorithm alg, EvpPkeyPtr pkey, Bytes encoded)
      : algorithm_(alg), pkey_(std::move(pkey)), encoded_(std::move(encoded)) {}

  CoseAlgorithm algorithm_;
  std::shared_ptr<EVP_PKEY> pkey_;
  Bytes encoded_;
};

// Verifies `signature` over `message` with an OpenSSL key under a COSE
// algorithm; shared by credential keys and attestation certificates.
Result<void> VerifyWithAlgorithm(EVP_PKEY* key, CoseAlgorithm alg, ByteView message,
                                 ByteView signature);

}  // namespace tpmauthn::webauthn
