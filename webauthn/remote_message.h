// The messages of remote (SSH) mode, carried in one PAM keyboard-interactive
// prompt and its answer. Compact, versioned, base64url, parsed strictly.
//
// Request (server → client), the first line of the prompt:
//   "tpmauthn-request-v1 " base64url( 0x01 | flags | challenge[32] |
//       rp_id_len | rp_id | n | n × SHA-256(credential id)[0..8) )
//   flags bit 0: user verification required.
// Reply (client → server), one line:
//   "tpmauthn-reply-v1 " base64url( 0x01 | u16 id_len | id | u16 ad_len |
//       authenticatorData | u16 sig_len | signature | u16 cd_len | clientDataJSON )
//   (u16 big-endian). The client builds clientDataJSON itself, with the origin
//   of the host it connected to; the server checks it like any other.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "webauthn/bytes.h"
#include "webauthn/result.h"

namespace tpmauthn::webauthn {

inline constexpr std::string_view kRequestTag = "tpmauthn-request-v1 ";
inline constexpr std::string_view kReplyTag = "tpmauthn-reply-v1 ";
inline constexpr size_t kMaxRemoteCredentials = 16;
inline constexpr size_t kMaxReplySize = 8192;  // decoded bytes

struct RemoteRequest {
  Bytes challenge;  // 32 bytes
  std::string rp_id;
  bool user_verification = true;
  std::vector<std::array<uint8_t, 8>> credential_digests;

  std::string Encode() const;  // the tagged line
  // Parses a prompt: the tag may follow a prefix on the first line (OpenSSH
  // shows "(user@host) PROMPT"); more lines may follow.
  static Result<RemoteRequest> Parse(std::string_view prompt);
};

std::array<uint8_t, 8> CredentialDigest(ByteView credential_id);

struct RemoteReply {
  Bytes credential_id;
  Bytes authenticator_data;
  Bytes signature;
  Bytes client_data_json;

  std::string Encode() const;
  // Strict: tag, base64url, version, every length in bounds, nothing extra.
  // Errors carry Check::kResponse.
  static Result<RemoteReply> Parse(std::string_view line);
};

}  // namespace tpmauthn::webauthn
