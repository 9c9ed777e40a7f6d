// Authenticator data — WebAuthn L3 §6.1 (with attested credential data, §6.5.1).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "webauthn/bytes.h"
#include "webauthn/result.h"

namespace tpmauthn::webauthn {

inline constexpr size_t kMaxCredentialIdLength = 1023;  // §4 "Credential ID"

struct AttestedCredentialData {
  std::array<uint8_t, 16> aaguid{};
  Bytes credential_id;
  Bytes public_key;  // the credentialPublicKey COSE_Key, as encoded
};

struct AuthenticatorData {
  // Flag bits (§6.1 table).
  static constexpr uint8_t kUserPresent = 0x01;
  static constexpr uint8_t kUserVerified = 0x04;
  static constexpr uint8_t kBackupEligible = 0x08;
  static constexpr uint8_t kBackupState = 0x10;
  static constexpr uint8_t kAttestedData = 0x40;
  static constexpr uint8_t kExtensionData = 0x80;

  std::array<uint8_t, 32> rp_id_hash{};
  uint8_t flags = 0;
  uint32_t sign_count = 0;
  std::optional<AttestedCredentialData> attested;
  std::optional<Bytes> extensions;  // CBOR map, as encoded

  bool user_present() const { return flags & kUserPresent; }
  bool user_verified() const { return flags & kUserVerified; }
  bool backup_eligible() const { return flags & kBackupEligible; }
  bool backup_state() const { return flags & kBackupState; }

  // Parses the exact byte layout: 37 fixed bytes; attested credential data iff
  // AT (credential id <= 1023 bytes, a CBOR map for the key); a CBOR map of
  // extensions iff ED; nothing after. Only structure is checked here — the COSE
  // key's validity and every flag policy belong to the verifier. Errors carry
  // Check::kAuthenticatorData and say which part failed.
  static Result<AuthenticatorData> Parse(ByteView data);

  // Serializes; sets AT/ED from the presence of `attested`/`extensions`.
  Bytes Serialize() const;
};

}  // namespace tpmauthn::webauthn
