// libFuzzer harness: key store files (JSON); what parses must serialize and
// parse back to the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tpm/key_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::tpm;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto record = ParseKeyRecord(text, "fuzz.key");
  if (record) {
    auto again = ParseKeyRecord(SerializeKeyRecord(*record), "fuzz.key");
    if (!again || SerializeKeyRecord(*again) != SerializeKeyRecord(*record)) std::abort();
  }
  return 0;
}
