// libFuzzer harness: clientDataJSON parsing.
#include <cstddef>
#include <cstdint>

#include "webauthn/client_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::webauthn;
  auto parsed = CollectedClientData::Parse({data, size});
  if (parsed) (void)CcdToString(parsed->origin);
  return 0;
}
