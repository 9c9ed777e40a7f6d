// base64url without padding (RFC 4648 §5), as WebAuthn's JSON forms use it.
#pragma once

#include <string>
#include <string_view>

#include "webauthn/bytes.h"
#include "webauthn/result.h"

namespace tpmauthn::webauthn {

// Encodes without '=' padding.
std::string Base64UrlEncode(ByteView data);

// Strict decode: only [A-Za-z0-9_-]; no padding, '+', '/', or whitespace; a
// length of 4n+1 and non-zero unused trailing bits are rejected, so every byte
// string has exactly one accepted encoding. Errors carry Check::kEncoding.
Result<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace tpmauthn::webauthn
