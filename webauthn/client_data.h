// CollectedClientData / clientDataJSON — WebAuthn L3 §5.8.1.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "webauthn/bytes.h"
#include "webauthn/result.h"

namespace tpmauthn::webauthn {

inline constexpr std::string_view kTypeCreate = "webauthn.create";
inline constexpr std::string_view kTypeGet = "webauthn.get";
// Larger clientDataJSON is refused before parsing.
inline constexpr size_t kMaxClientDataSize = 16 * 1024;

struct CollectedClientData {
  std::string type;
  std::string challenge;  // base64url, exactly as in the JSON
  std::string origin;
  std::optional<bool> cross_origin;
  std::optional<std::string> top_origin;

  // Parses clientDataJSON strictly: at most kMaxClientDataSize bytes of valid
  // UTF-8 JSON (no BOM), a single object, no duplicate keys at any depth,
  // string `type`/`challenge`/`origin`, boolean `crossOrigin` and string
  // `topOrigin` when present. Unknown members are allowed (§5.8.1 says the
  // dictionary may be extended). Errors carry Check::kClientData.
  static Result<CollectedClientData> Parse(ByteView json);
};

// Serializes clientDataJSON with the §5.8.1.1 algorithm (member order, CCDToString
// escaping), as a WebAuthn client would. `origin` and `top_origin` must be UTF-8.
std::string SerializeClientData(std::string_view type, ByteView challenge,
                                std::string_view origin, bool cross_origin = false,
                                std::optional<std::string_view> top_origin = std::nullopt);

// CCDToString (§5.8.1.2): a JSON string literal with the spec's exact escaping.
std::string CcdToString(std::string_view utf8);

}  // namespace tpmauthn::webauthn
