// Byte strings and small helpers shared by the WebAuthn formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tpmauthn::webauthn {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Constant-time equality (CRYPTO_memcmp); sizes are not secret.
bool ConstantTimeEquals(ByteView a, ByteView b);

// SHA-256 of `data`.
Bytes Sha256(ByteView data);

// Lowercase hex, for logs and test data.
std::string ToHex(ByteView data);
// Strict hex decode (even length, [0-9a-fA-F]); returns false on error.
bool FromHex(std::string_view hex, Bytes& out);

}  // namespace tpmauthn::webauthn
