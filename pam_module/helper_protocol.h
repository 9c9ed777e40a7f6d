// The pipe protocol between pam_tpmauthn.so running as a user (screen lockers)
// and the setuid tpmauthn-helper: length-prefixed frames over a unix stream
// socket on the helper's standard input. Every frame type has its own maximum
// length and direction; anything else is a refusal, and either side then ends
// the exchange (the module as PAM_AUTHINFO_UNAVAIL). No PAM, no TPM here.
//
//   frame   = type:u8 length:u16be payload[length]
//   module → helper: kRequest (version:u8, user name), then kAnswer (the
//                    answer to the last prompt) or kNoAnswer (none given)
//   helper → module: kPromptSecret / kPromptText (a question: one answer
//                    frame follows), kInfo / kError (shown, no answer),
//                    kResult (outcome:u8; the last frame)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "webauthn/bytes.h"
#include "webauthn/result.h"
#include "webauthn/secret.h"

namespace tpmauthn::pam::helper {

inline constexpr uint8_t kProtocolVersion = 1;

enum class FrameType : uint8_t {
  kRequest = 1,
  kAnswer = 2,
  kNoAnswer = 3,
  kPromptSecret = 16,
  kPromptText = 17,
  kInfo = 18,
  kError = 19,
  kResult = 20,
};

inline constexpr size_t kHeaderSize = 3;
inline constexpr size_t kMaxUserName = 256;   // LOGIN_NAME_MAX
inline constexpr size_t kMaxAnswer = 128;     // the PIN maximum (cli/pin_input.h)
inline constexpr size_t kMaxMessage = 512;    // a prompt or a message to show
inline constexpr size_t kMaxFrame = kMaxMessage;

// Who sends a frame type: the module (to the helper) or the helper.
enum class Direction { kToHelper, kToModule };

struct Frame {
  FrameType type = FrameType::kResult;
  webauthn::SecretBytes payload;  // may hold a PIN: wiped on destruction
};

struct ProtocolError {
  std::string message;
};

template <typename T>
using ProtocolResult = webauthn::Result<T, ProtocolError>;

// The header's type and length, checked against what `direction` may carry.
ProtocolResult<std::pair<FrameType, size_t>> CheckHeader(webauthn::ByteView header,
                                                         Direction direction);
// A whole frame (header and payload), checked: the header as above, and the
// payload's contents (a request's version and user name, a result's outcome,
// text without NUL bytes). Trailing bytes are an error.
ProtocolResult<Frame> ParseFrame(webauthn::ByteView bytes, Direction direction);

// The request's fields (ParseFrame has checked them).
std::string RequestUser(const Frame& request);
// The result frame's outcome byte.
uint8_t ResultCode(const Frame& result);

// One frame to `fd` with send(MSG_NOSIGNAL): a closed peer is an error, never
// SIGPIPE. `payload` must fit the type's maximum.
ProtocolResult<void> WriteFrame(int fd, FrameType type, webauthn::ByteView payload);
// The next frame from `fd`, waiting at most `timeout_ms` for each read (-1:
// no limit). End of input before a whole frame, a refused header or payload,
// or the timeout: an error that says which.
ProtocolResult<Frame> ReadFrame(int fd, Direction direction, int timeout_ms);

// kRequest's payload.
webauthn::Bytes RequestPayload(const std::string& user);

}  // namespace tpmauthn::pam::helper
