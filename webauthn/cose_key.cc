// COSE_Key parsing, canonical encoding and signature verification over OpenSSL 3.
#include "webauthn/cose_key.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>
#include <initializer_list>

#include "webauthn/cbor.h"

namespace tpmauthn::webauthn {
namespace {

// COSE key labels (RFC 9052 §7.1, RFC 9053 §7.1-7.2, RFC 8230 §4).
constexpr int64_t kLabelKty = 1;
constexpr int64_t kLabelKid = 2;
constexpr int64_t kLabelAlg = 3;
constexpr int64_t kLabelKeyOps = 4;
constexpr int64_t kLabelCrvOrN = -1;
constexpr int64_t kLabelXOrE = -2;
constexpr int64_t kLabelY = -3;
constexpr int64_t kLabelD = -4;

constexpr int64_t kKtyOkp = 1;
constexpr int64_t kKtyEc2 = 2;
constexpr int64_t kKtyRsa = 3;
constexpr int64_t kCrvP256 = 1;
constexpr int64_t kCrvEd25519 = 6;

Error KeyError(std::string message) {
  return Fail(Check::kPublicKey, "COSE_Key: " + std::move(message));
}

const EVP_MD* Sha256Md() {
  // Fetched once (OpenSSL 3 implicit fetches cost more than the hash itself)
  // and freed when the library goes away — the PAM module may be dlclose'd.
  static const std::unique_ptr<EVP_MD, OpenSslDeleter<EVP_MD_free>> md(
      EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md.get();
}

// Every label must be one of `allowed`, kid or key_ops. Labels in
// [private_low, private_high] are private-key members and get their own error.
Result<void> CheckLabels(const cbor_item_t* map, std::initializer_list<int64_t> allowed,
                         int64_t private_low, int64_t private_high) {
  cbor_pair* pairs = cbor_map_handle(map);
  for (size_t i = 0; i < cbor_map_size(map); ++i) {
    auto label = cbor::AsInt(pairs[i].key);
    if (!label) return KeyError("non-integer label");
    if (*label >= private_low && *label <= private_high) {
      return KeyError("private key member present");
    }
    bool ok = *label == kLabelKid || *label == kLabelKeyOps;
    for (int64_t a : allowed) ok = ok || a == *label;
    if (!ok) return KeyError("unexpected member " + std::to_string(*label));
  }
  return {};
}

// `validate`: run OpenSSL's public-key check (for EC keys: the point is on
// the curve). Not for RSA: OpenSSL's RSA check (SP 800-56B) runs Miller-Rabin
// with random witnesses, so one modulus can pass once and fail the next time,
// and a stored credential must parse the same way every time. ParseRsa makes
// its own deterministic checks instead.
Result<EvpPkeyPtr> FromParams(const char* type, OSSL_PARAM_BLD* bld, bool validate) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) {
    return KeyError("OpenSSL could not create a key context");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return KeyError("not a valid public key");
  }
  EvpPkeyPtr pkey(raw);
  if (!validate) return pkey;
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) <= 0) {
    return KeyError("public key fails validation (point not on curve?)");
  }
  return pkey;
}

Result<EvpPkeyPtr> ParseEc2(const cbor_item_t* map, int64_t alg) {
  if (alg != static_cast<int64_t>(CoseAlgorithm::kES256)) {
    return KeyError("EC2 key with algorithm " + std::to_string(alg) + " (only ES256)");
  }
  if (auto labels = CheckLabels(map, {kLabelKty, kLabelAlg, kLabelCrvOrN, kLabelXOrE, kLabelY},
                                   kLabelD, kLabelD);
      !labels) {
    return labels.error();
  }
  auto crv = cbor::AsInt(cbor::Find(map, kLabelCrvOrN));
  if (!crv) return KeyError("EC2 key without crv");
  if (*crv != kCrvP256) return KeyError("EC2 curve " + std::to_string(*crv) + " is not P-256");
  auto x = cbor::AsBytes(cbor::Find(map, kLabelXOrE));
  auto y = cbor::AsBytes(cbor::Find(map, kLabelY));
  if (!x || !y) return KeyError("EC2 key without x or y byte strings");
  if (x->size() != 32 || y->size() != 32) return KeyError("EC2 coordinates are not 32 bytes");
  std::array<uint8_t, 65> point{};
  point[0] = 0x04;
  std::copy(x->begin(), x->end(), point.begin() + 1);
  std::copy(y->begin(), y->end(), point.begin() + 33);
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return KeyError("OpenSSL parameter build failed");
  }
  return FromParams("EC", bld.get(), /*validate=*/true);
}

Result<EvpPkeyPtr> ParseOkp(const cbor_item_t* map, int64_t alg) {
  if (alg != static_cast<int64_t>(CoseAlgorithm::kEdDSA)) {
    return KeyError("OKP key with algorithm " + std::to_string(alg) + " (only EdDSA)");
  }
  if (auto labels = CheckLabels(map, {kLabelKty, kLabelAlg, kLabelCrvOrN, kLabelXOrE}, kLabelD, kLabelD);
      !labels) {
    return labels.error();
  }
  auto crv = cbor::AsInt(cbor::Find(map, kLabelCrvOrN));
  if (!crv) return KeyError("OKP key without crv");
  if (*crv != kCrvEd25519) return KeyError("OKP curve " + std::to_string(*crv) + " is not Ed25519");
  auto x = cbor::AsBytes(cbor::Find(map, kLabelXOrE));
  if (!x || x->size() != 32) return KeyError("Ed25519 key without a 32-byte x");
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, x->data(), x->size());
  if (!raw) return KeyError("not a valid Ed25519 public key");
  return EvpPkeyPtr(raw);
}

Result<EvpPkeyPtr> ParseRsa(const cbor_item_t* map, int64_t alg) {
  if (alg != static_cast<int64_t>(CoseAlgorithm::kRS256)) {
    return KeyError("RSA key with algorithm " + std::to_string(alg) + " (only RS256)");
  }
  // RSA uses -1 (n) and -2 (e); -3..-12 are private members (RFC 8230 §4).
  if (auto labels = CheckLabels(map, {kLabelKty, kLabelAlg, kLabelCrvOrN, kLabelXOrE}, -12, -3);
      !labels) {
    return labels.error();
  }
  auto n = cbor::AsBytes(cbor::Find(map, kLabelCrvOrN));
  auto e = cbor::AsBytes(cbor::Find(map, kLabelXOrE));
  if (!n || !e) return KeyError("RSA key without n or e byte strings");
  if (n->empty() || (*n)[0] == 0) return KeyError("RSA modulus has a leading zero byte");
  if (e->empty() || e->size() > 8 || (*e)[0] == 0) return KeyError("RSA exponent out of range");
  BignumPtr bn_n(BN_bin2bn(n->data(), static_cast<int>(n->size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(e->data(), static_cast<int>(e->size()), nullptr));
  if (!bn_n || !bn_e) return KeyError("out of memory");
  auto bits = static_cast<size_t>(BN_num_bits(bn_n.get()));
  if (bits < kMinRsaModulusBits || bits > kMaxRsaModulusBits) {
    return KeyError("RSA modulus of " + std::to_string(bits) + " bits (2048-16384 allowed)");
  }
  if (!BN_is_odd(bn_n.get())) return KeyError("RSA modulus is even");
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) return KeyError("RSA exponent invalid");
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return KeyError("OpenSSL parameter build failed");
  }
  return FromParams("RSA", bld.get(), /*validate=*/false);
}

Result<void> VerifyDigest(EVP_PKEY* key, const EVP_MD* md, ByteView message, ByteView signature) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) <= 0) {
    return Fail(Check::kSignature, "signature: OpenSSL could not initialise verification");
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size());
  if (rc != 1) return Fail(Check::kSignature, "signature does not verify");
  return {};
}

}  // namespace

std::string_view ToString(CoseAlgorithm alg) {
  switch (alg) {
    case CoseAlgorithm::kES256:
      return "ES256";
    case CoseAlgorithm::kEdDSA:
      return "EdDSA";
    case CoseAlgorithm::kRS256:
      return "RS256";
  }
  return "unknown";
}

Result<CoseKey> CoseKey::Parse(ByteView data) {
  auto item = cbor::DecodeExact(data, Check::kPublicKey, "COSE_Key");
  if (!item) return item.error();
  const cbor_item_t* map = item->get();
  if (!cbor_isa_map(map)) return KeyError("not a CBOR map");
  auto kty = cbor::AsInt(cbor::Find(map, kLabelKty));
  if (!kty) return KeyError("missing kty");
  auto alg = cbor::AsInt(cbor::Find(map, kLabelAlg));
  if (!alg) return KeyError("missing alg");
  Result<EvpPkeyPtr> pkey = KeyError("unsupported kty " + std::to_string(*kty));
  switch (*kty) {
    case kKtyEc2:
      pkey = ParseEc2(map, *alg);
      break;
    case kKtyOkp:
      pkey = ParseOkp(map, *alg);
      break;
    case kKtyRsa:
      pkey = ParseRsa(map, *alg);
      break;
    default:
      break;
  }
  if (!pkey) return pkey.error();
  return CoseKey(static_cast<CoseAlgorithm>(*alg), std::move(*pkey), Bytes(data.begin(), data.end()));
}

Result<CoseKey> CoseKey::FromEvpPkey(EVP_PKEY* key) {
  if (!key) return KeyError("no key");
  cbor::ItemPtr map;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[32] = {};
    size_t group_len = 0;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        &group_len) ||
        std::string_view(group, group_len) != "prime256v1") {
      return KeyError("EC key is not on P-256");
    }
    std::array<uint8_t, 65> point{};
    size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                         point.size(), &len) ||
        len != 65 || point[0] != 0x04) {
      return KeyError("could not export the EC point");
    }
    map = cbor::NewMap(5);
    cbor::MapAdd(map.get(), cbor::Int(kLabelKty), cbor::Int(kKtyEc2));
    cbor::MapAdd(map.get(), cbor::Int(kLabelAlg),
                 cbor::Int(static_cast<int64_t>(CoseAlgorithm::kES256)));
    cbor::MapAdd(map.get(), cbor::Int(kLabelCrvOrN), cbor::Int(kCrvP256));
    cbor::MapAdd(map.get(), cbor::Int(kLabelXOrE), cbor::ByteString({point.data() + 1, 32}));
    cbor::MapAdd(map.get(), cbor::Int(kLabelY), cbor::ByteString({point.data() + 33, 32}));
  } else if (EVP_PKEY_is_a(key, "ED25519")) {
    std::array<uint8_t, 32> x{};
    size_t len = x.size();
    if (!EVP_PKEY_get_raw_public_key(key, x.data(), &len) || len != 32) {
      return KeyError("could not export the Ed25519 key");
    }
    map = cbor::NewMap(4);
    cbor::MapAdd(map.get(), cbor::Int(kLabelKty), cbor::Int(kKtyOkp));
    cbor::MapAdd(map.get(), cbor::Int(kLabelAlg),
                 cbor::Int(static_cast<int64_t>(CoseAlgorithm::kEdDSA)));
    cbor::MapAdd(map.get(), cbor::Int(kLabelCrvOrN), cbor::Int(kCrvEd25519));
    cbor::MapAdd(map.get(), cbor::Int(kLabelXOrE), cbor::ByteString(x));
  } else if (EVP_PKEY_is_a(key, "RSA")) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e)) {
      BN_free(n);
      return KeyError("could not export the RSA key");
    }
    BignumPtr owned_n(n), owned_e(e);
    Bytes n_bytes(static_cast<size_t>(BN_num_bytes(n)));
    Bytes e_bytes(static_cast<size_t>(BN_num_bytes(e)));
    BN_bn2bin(n, n_bytes.data());
    BN_bn2bin(e, e_bytes.data());
    map = cbor::NewMap(4);
    cbor::MapAdd(map.get(), cbor::Int(kLabelKty), cbor::Int(kKtyRsa));
    cbor::MapAdd(map.get(), cbor::Int(kLabelAlg),
                 cbor::Int(static_cast<int64_t>(CoseAlgorithm::kRS256)));
    cbor::MapAdd(map.get(), cbor::Int(kLabelCrvOrN), cbor::ByteString(n_bytes));
    cbor::MapAdd(map.get(), cbor::Int(kLabelXOrE), cbor::ByteString(e_bytes));
  } else {
    return KeyError("unsupported key type");
  }
  return Parse(cbor::Serialize(map.get()));
}

Result<void> CoseKey::Verify(ByteView message, ByteView signature) const {
  return VerifyWithAlgorithm(pkey_.get(), algorithm_, message, signature);
}

Result<void> VerifyWithAlgorithm(EVP_PKEY* key, CoseAlgorithm alg, ByteView message,
                                 ByteView signature) {
  switch (alg) {
    case CoseAlgorithm::kES256: {
      if (!EVP_PKEY_is_a(key, "EC")) return Fail(Check::kSignature, "signature: key is not EC");
      // Strict DER: parse, re-encode, compare. Raw r||s (64 bytes) fails here.
      const unsigned char* p = signature.data();
      EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
      if (!sig || p != signature.data() + signature.size()) {
        return Fail(Check::kSignature, "signature is not a DER ECDSA-Sig-Value");
      }
      unsigned char* der = nullptr;
      int der_len = i2d_ECDSA_SIG(sig.get(), &der);
      bool canonical = der_len == static_cast<int>(signature.size()) &&
                       std::memcmp(der, signature.data(), signature.size()) == 0;
      OPENSSL_free(der);
      if (!canonical) return Fail(Check::kSignature, "signature is not canonical DER");
      return VerifyDigest(key, Sha256Md(), message, signature);
    }
    case CoseAlgorithm::kEdDSA:
      if (!EVP_PKEY_is_a(key, "ED25519")) {
        return Fail(Check::kSignature, "signature: key is not Ed25519");
      }
      if (signature.size() != 64) return Fail(Check::kSignature, "Ed25519 signature not 64 bytes");
      return VerifyDigest(key, nullptr, message, signature);
    case CoseAlgorithm::kRS256:
      if (!EVP_PKEY_is_a(key, "RSA")) return Fail(Check::kSignature, "signature: key is not RSA");
      if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key))) {
        return Fail(Check::kSignature, "RSA signature length differs from the modulus");
      }
      return VerifyDigest(key, Sha256Md(), message, signature);
  }
  return Fail(Check::kAlgorithm, "unsupported algorithm");
}

}  // namespace tpmauthn::webauthn
