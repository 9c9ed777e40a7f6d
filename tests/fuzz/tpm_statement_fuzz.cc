// libFuzzer harness: a "tpm" attStmt through the §8.3 verifier. Input:
// authData length (2 bytes, big-endian), authData, clientDataHash (32 bytes),
// then the attStmt CBOR map — so seeds from a real registration reach every
// rule. The credential key is taken from the statement's own pubArea when it holds
// a usable P-256 or RSA key, so that fuzzed inputs get past the pubArea check
// and reach certInfo (TPMS_ATTEST), the Name, the signature and the AIK
// certificate rules; otherwise a fixed key stands in.
#include <tss2/tss2_mu.h>

#include <cstddef>
#include <cstdint>

#include "webauthn/cbor.h"
#include "webauthn/tpm_attestation.h"

namespace {

using namespace tpmauthn::webauthn;

std::optional<CoseKey> KeyOf(const Bytes& pub_area) {
  TPMT_PUBLIC pub{};
  size_t offset = 0;
  if (Tss2_MU_TPMT_PUBLIC_Unmarshal(pub_area.data(), pub_area.size(), &offset, &pub) !=
      TSS2_RC_SUCCESS) {
    return std::nullopt;
  }
  cbor::ItemPtr map;
  if (pub.type == TPM2_ALG_ECC) {
    map = cbor::NewMap(5);
    cbor::MapAdd(map.get(), cbor::Int(1), cbor::Int(2));
    cbor::MapAdd(map.get(), cbor::Int(3), cbor::Int(-7));
    cbor::MapAdd(map.get(), cbor::Int(-1), cbor::Int(1));
    cbor::MapAdd(map.get(), cbor::Int(-2),
                 cbor::ByteString({pub.unique.ecc.x.buffer, pub.unique.ecc.x.size}));
    cbor::MapAdd(map.get(), cbor::Int(-3),
                 cbor::ByteString({pub.unique.ecc.y.buffer, pub.unique.ecc.y.size}));
  } else if (pub.type == TPM2_ALG_RSA) {
    map = cbor::NewMap(4);
    cbor::MapAdd(map.get(), cbor::Int(1), cbor::Int(3));
    cbor::MapAdd(map.get(), cbor::Int(3), cbor::Int(-257));
    cbor::MapAdd(map.get(), cbor::Int(-1),
                 cbor::ByteString({pub.unique.rsa.buffer, pub.unique.rsa.size}));
    cbor::MapAdd(map.get(), cbor::Int(-2), cbor::ByteString(Bytes{0x01, 0x00, 0x01}));
  } else {
    return std::nullopt;
  }
  auto key = CoseKey::Parse(cbor::Serialize(map.get()));
  if (!key) return std::nullopt;
  return std::move(*key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t auth_length = (size_t{data[0]} << 8) | data[1];
  if (size < 2 + auth_length + 32) return 0;
  const ByteView auth_data_bytes(data + 2, auth_length);
  const ByteView client_data_hash(data + 2 + auth_length, 32);
  const ByteView stmt_bytes(data + 2 + auth_length + 32, size - 2 - auth_length - 32);
  auto auth_data = AuthenticatorData::Parse(auth_data_bytes);
  if (!auth_data) return 0;
  auto item = cbor::DecodeExact(stmt_bytes, Check::kAttestationObject, "attStmt");
  if (!item || !cbor_isa_map(item->get())) return 0;
  TpmStatement statement;
  int64_t alg = 0;
  Bytes sig;
  std::vector<Bytes> x5c;
  if (!ParseTpmStatement(item->get(), statement, alg, sig, x5c)) return 0;
  (void)TpmName(statement.pub_area);
  auto key = KeyOf(statement.pub_area);
  if (!key) return 0;
  static const AttestationTrust kNoAnchors;
  (void)VerifyTpmStatement(statement, alg, sig, x5c, auth_data_bytes, *auth_data,
                           client_data_hash, *key, &kNoAnchors);
  return 0;
}
