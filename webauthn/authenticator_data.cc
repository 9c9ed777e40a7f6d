// authenticatorData parse/build, byte-exact per WebAuthn L3 §6.1.
#include "webauthn/authenticator_data.h"

#include <algorithm>
#include <string>

#include "webauthn/cbor.h"

namespace tpmauthn::webauthn {
namespace {

constexpr size_t kFixedLength = 37;  // rpIdHash(32) + flags(1) + signCount(4)

Error DataError(std::string message) {
  return Fail(Check::kAuthenticatorData, "authenticatorData: " + std::move(message));
}

}  // namespace

Result<AuthenticatorData> AuthenticatorData::Parse(ByteView data) {
  if (data.size() < kFixedLength) {
    return DataError("truncated (" + std::to_string(data.size()) + " bytes, at least 37)");
  }
  AuthenticatorData out;
  std::copy_n(data.begin(), 32, out.rp_id_hash.begin());
  out.flags = data[32];
  out.sign_count = (uint32_t{data[33]} << 24) | (uint32_t{data[34]} << 16) |
                   (uint32_t{data[35]} << 8) | uint32_t{data[36]};
  ByteView rest = data.subspan(kFixedLength);

  if (out.flags & kAttestedData) {
    if (rest.size() < 18) return DataError("attested credential data truncated");
    AttestedCredentialData acd;
    std::copy_n(rest.begin(), 16, acd.aaguid.begin());
    size_t id_length = (size_t{rest[16]} << 8) | size_t{rest[17]};
    rest = rest.subspan(18);
    if (id_length > kMaxCredentialIdLength) {
      return DataError("credentialIdLength " + std::to_string(id_length) + " exceeds 1023");
    }
    if (rest.size() < id_length) return DataError("credentialId truncated");
    acd.credential_id.assign(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(id_length));
    rest = rest.subspan(id_length);
    auto key = cbor::DecodePrefix(rest, Check::kAuthenticatorData,
                                  "authenticatorData: credentialPublicKey");
    if (!key) return key.error();
    if (!cbor_isa_map(key->item.get())) return DataError("credentialPublicKey is not a CBOR map");
    acd.public_key.assign(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(key->consumed));
    rest = rest.subspan(key->consumed);
    out.attested = std::move(acd);
  }
  if (out.flags & kExtensionData) {
    auto ext = cbor::DecodePrefix(rest, Check::kAuthenticatorData, "authenticatorData: extensions");
    if (!ext) return ext.error();
    if (!cbor_isa_map(ext->item.get())) return DataError("extensions are not a CBOR map");
    out.extensions = Bytes(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(ext->consumed));
    rest = rest.subspan(ext->consumed);
  }
  if (!rest.empty()) return DataError(std::to_string(rest.size()) + " trailing bytes");
  return out;
}

Bytes AuthenticatorData::Serialize() const {
  Bytes out(rp_id_hash.begin(), rp_id_hash.end());
  uint8_t f = flags & static_cast<uint8_t>(~(kAttestedData | kExtensionData));
  if (attested) f |= kAttestedData;
  if (extensions) f |= kExtensionData;
  out.push_back(f);
  out.push_back(static_cast<uint8_t>(sign_count >> 24));
  out.push_back(static_cast<uint8_t>(sign_count >> 16));
  out.push_back(static_cast<uint8_t>(sign_count >> 8));
  out.push_back(static_cast<uint8_t>(sign_count));
  if (attested) {
    out.insert(out.end(), attested->aaguid.begin(), attested->aaguid.end());
    out.push_back(static_cast<uint8_t>(attested->credential_id.size() >> 8));
    out.push_back(static_cast<uint8_t>(attested->credential_id.size()));
    out.insert(out.end(), attested->credential_id.begin(), attested->credential_id.end());
    out.insert(out.end(), attested->public_key.begin(), attested->public_key.end());
  }
  if (extensions) out.insert(out.end(), extensions->begin(), extensions->end());
  return out;
}

}  // namespace tpmauthn::webauthn
