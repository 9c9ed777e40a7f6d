// The module ↔ tpmauthn-helper frames (helper_protocol.h).
#include "pam_module/helper_protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pam_module/relying_party.h"

namespace tpmauthn::pam::helper {
namespace {

ProtocolError Refuse(std::string message) { return ProtocolError{std::move(message)}; }

struct TypeRule {
  FrameType type;
  Direction direction;
  size_t min_length;
  size_t max_length;
};

constexpr TypeRule kRules[] = {
    {FrameType::kRequest, Direction::kToHelper, 2, 1 + kMaxUserName},
    {FrameType::kAnswer, Direction::kToHelper, 0, kMaxAnswer},
    {FrameType::kNoAnswer, Direction::kToHelper, 0, 0},
    {FrameType::kPromptSecret, Direction::kToModule, 0, kMaxMessage},
    {FrameType::kPromptText, Direction::kToModule, 0, kMaxMessage},
    {FrameType::kInfo, Direction::kToModule, 0, kMaxMessage},
    {FrameType::kError, Direction::kToModule, 0, kMaxMessage},
    {FrameType::kResult, Direction::kToModule, 1, 1},
};

const TypeRule* RuleFor(uint8_t type) {
  for (const TypeRule& rule : kRules) {
    if (static_cast<uint8_t>(rule.type) == type) return &rule;
  }
  return nullptr;
}

bool HasNul(webauthn::ByteView bytes) {
  return std::memchr(bytes.data(), 0, bytes.size()) != nullptr;
}

// A user name as getpwnam(3) could know it: no NUL, '/', ':' or control bytes,
// not starting with '-'.
bool PlausibleUserName(webauthn::ByteView name) {
  if (name.empty() || name[0] == '-') return false;
  for (uint8_t c : name) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == ':') return false;
  }
  return true;
}

}  // namespace

ProtocolResult<std::pair<FrameType, size_t>> CheckHeader(webauthn::ByteView header,
                                                         Direction direction) {
  if (header.size() != kHeaderSize) return Refuse("frame header: wrong size");
  const TypeRule* rule = RuleFor(header[0]);
  if (!rule) return Refuse("frame type " + std::to_string(header[0]) + " unknown");
  if (rule->direction != direction) {
    return Refuse("frame type " + std::to_string(header[0]) + " sent the wrong way");
  }
  const size_t length = (size_t{header[1]} << 8) | header[2];
  if (length < rule->min_length || length > rule->max_length) {
    return Refuse("frame type " + std::to_string(header[0]) + ": length " +
                  std::to_string(length) + " outside " + std::to_string(rule->min_length) + "-" +
                  std::to_string(rule->max_length));
  }
  return std::make_pair(rule->type, length);
}

ProtocolResult<Frame> ParseFrame(webauthn::ByteView bytes, Direction direction) {
  if (bytes.size() < kHeaderSize) return Refuse("frame truncated in its header");
  auto header = CheckHeader(bytes.first(kHeaderSize), direction);
  if (!header) return header.error();
  const auto [type, length] = *header;
  const webauthn::ByteView payload = bytes.subspan(kHeaderSize);
  if (payload.size() < length) return Refuse("frame truncated in its payload");
  if (payload.size() > length) return Refuse("trailing bytes after a frame");
  switch (type) {
    case FrameType::kRequest:
      if (payload[0] != kProtocolVersion) {
        return Refuse("protocol version " + std::to_string(payload[0]) + " unsupported");
      }
      if (!PlausibleUserName(payload.subspan(1))) return Refuse("request: invalid user name");
      break;
    case FrameType::kResult:
      if (payload[0] > static_cast<uint8_t>(Outcome::kUnavailable)) {
        return Refuse("result: unknown outcome " + std::to_string(payload[0]));
      }
      break;
    case FrameType::kAnswer:
    case FrameType::kPromptSecret:
    case FrameType::kPromptText:
    case FrameType::kInfo:
    case FrameType::kError:
      if (HasNul(payload)) return Refuse("text holds a NUL byte");
      break;
    case FrameType::kNoAnswer:
      break;
  }
  return Frame{type, webauthn::SecretBytes(payload)};
}

std::string RequestUser(const Frame& request) {
  return std::string(webauthn::AsString(request.payload.bytes().subspan(1)));
}

uint8_t ResultCode(const Frame& result) { return result.payload.bytes()[0]; }

webauthn::Bytes RequestPayload(const std::string& user) {
  webauthn::Bytes out(1 + user.size());
  out[0] = kProtocolVersion;
  std::memcpy(out.data() + 1, user.data(), user.size());
  return out;
}

ProtocolResult<void> WriteFrame(int fd, FrameType type, webauthn::ByteView payload) {
  const TypeRule* rule = RuleFor(static_cast<uint8_t>(type));
  if (!rule || payload.size() > rule->max_length) return Refuse("frame too long to send");
  // One buffer, one send where possible; it may hold a PIN.
  webauthn::SecretBytes frame;
  frame.Append(static_cast<uint8_t>(type));
  frame.Append(static_cast<uint8_t>(payload.size() >> 8));
  frame.Append(static_cast<uint8_t>(payload.size() & 0xff));
  for (uint8_t b : payload) frame.Append(b);
  size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = ::send(fd, frame.bytes().data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Refuse(std::string("cannot send: ") + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  return {};
}

namespace {

// Exactly `out.size()` bytes, each read waiting at most `timeout_ms`.
ProtocolResult<void> ReadExactly(int fd, std::span<uint8_t> out, int timeout_ms, const char* what) {
  size_t got = 0;
  while (got < out.size()) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Refuse(std::string("cannot wait for ") + what + ": " + std::strerror(errno));
    }
    if (ready == 0) return Refuse(std::string("no ") + what + " within the time limit");
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Refuse(std::string("cannot read ") + what + ": " + std::strerror(errno));
    }
    if (n == 0) {
      return Refuse(got == 0 && std::strcmp(what, "a frame header") == 0
                        ? "the other side closed the connection"
                        : std::string("connection closed in the middle of ") + what);
    }
    got += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

ProtocolResult<Frame> ReadFrame(int fd, Direction direction, int timeout_ms) {
  uint8_t header[kHeaderSize];
  if (auto ok = ReadExactly(fd, header, timeout_ms, "a frame header"); !ok) return ok.error();
  auto checked = CheckHeader(header, direction);
  if (!checked) return checked.error();
  // Header and payload in one wiped buffer, parsed as a whole.
  std::vector<uint8_t> buffer(kHeaderSize + checked->second);
  std::memcpy(buffer.data(), header, kHeaderSize);
  auto ok = ReadExactly(fd, std::span<uint8_t>(buffer).subspan(kHeaderSize), timeout_ms,
                        "a frame payload");
  if (!ok) {
    explicit_bzero(buffer.data(), buffer.size());
    return ok.error();
  }
  ProtocolResult<Frame> parsed = ParseFrame(buffer, direction);
  explicit_bzero(buffer.data(), buffer.size());
  return parsed;
}

}  // namespace tpmauthn::pam::helper
