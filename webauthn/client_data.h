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

  // Parses clientDataJSON as §7.1 step 5 and §7.2 step 10 say: "UTF-8
  // decode" (WHATWG Encoding: one leading byte order mark removed, every
  // invalid sequence replaced by U+FFFD), then strictly: at most
  // kMaxClientDataSize bytes, JSON, a single object, no duplicate keys at any depth,
  // string `type`/`challenge`/`origin`, boolean `crossOrigin` and string
  // `topOrigin` when present. Unknown members are allowed (§5.8.1 says the
  // dictionary may be extended). Errors carry Check::kClientData.
  static Result<CollectedClientData> Parse(ByteView json);
};

// WHATWG Encoding's "UTF-8 decode": a leading BOM (EF BB BF) is dropped, and
// each maximal invalid subsequence becomes U+FFFD. Returns UTF-8.
std::string Utf8Decode(ByteView bytes);

// Serializes clientDataJSON with the §5.8.1.1 algorithm (member order, CCDToString
// escaping), as a WebAuthn client would. `origin` and `top_origin` must be UTF-8.
std::string SerializeClientData(std::string_view type, ByteView challenge,
                                std::string_view origin, bool cross_origin = false,
                                std::optional<std::string_view> top_origin = std::nullopt);

// CCDToString (§5.8.1.2): a JSON string literal with the spec's exact escaping.
std::string CcdToString(std::string_view utf8);

}  // namespace tpmauthn::webauthn
