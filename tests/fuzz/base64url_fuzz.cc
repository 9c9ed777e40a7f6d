// libFuzzer harness: base64url decode must not crash, and what it accepts must
// re-encode to the same text (canonical form).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "webauthn/base64url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::webauthn;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = Base64UrlDecode(text);
  if (decoded && Base64UrlEncode(*decoded) != text) std::abort();
  return 0;
}
