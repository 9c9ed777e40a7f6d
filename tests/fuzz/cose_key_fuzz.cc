// libFuzzer harness: COSE_Key parsing and a verification attempt with the key.
#include <cstddef>
#include <cstdint>

#include "webauthn/cose_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::webauthn;
  auto key = CoseKey::Parse({data, size});
  if (key) {
    static const uint8_t kMessage[] = {1, 2, 3};
    (void)key->Verify(kMessage, {data, size});
    (void)CoseKey::FromEvpPkey(key->pkey());
  }
  return 0;
}
