// libFuzzer harness: authenticatorData parsing; what parses must serialize back
// to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "webauthn/authenticator_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::webauthn;
  auto parsed = AuthenticatorData::Parse({data, size});
  if (parsed && parsed->Serialize() != Bytes(data, data + size)) std::abort();
  return 0;
}
