// libFuzzer harness: the module ↔ tpmauthn-helper frame parser
// (pam_module/helper_protocol.h). The first byte picks the direction; the
// rest is one frame. What it accepts must be exactly one frame: the header's
// length equals the payload's, within the type's bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "pam_module/helper_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::pam::helper;
  if (size == 0) return 0;
  const Direction direction = data[0] & 1 ? Direction::kToModule : Direction::kToHelper;
  tpmauthn::webauthn::ByteView bytes(data + 1, size - 1);
  auto frame = ParseFrame(bytes, direction);
  if (!frame) return 0;
  auto header = CheckHeader(bytes.first(kHeaderSize), direction);
  if (!header || header->first != frame->type || header->second != frame->payload.size() ||
      bytes.size() != kHeaderSize + frame->payload.size() || frame->payload.size() > kMaxFrame) {
    std::abort();
  }
  if (frame->type == FrameType::kRequest && RequestUser(*frame).size() > kMaxUserName) std::abort();
  return 0;
}
