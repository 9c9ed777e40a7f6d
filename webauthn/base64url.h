// base64url without padding (RFC 4648 §5), as WebAuthn's JSON forms use it;
// standard base64 for other tools' formats.
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

// Standard base64 (RFC 4648 §4, '+' and '/'), '=' padding optional but, when
// present, complete; the same strictness otherwise. For formats of other
// tools (pam-u2f authfiles, SSSD passkey values).
Result<Bytes> Base64Decode(std::string_view text);

}  // namespace tpmauthn::webauthn
