// libFuzzer harness: the attestation CA's request and response files and the
// store's attestation.json (JSON). The first byte picks the parser; what
// parses must serialize and parse back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "attestation_ca/messages.h"
#include "tpm/attestation_key.h"

namespace {

template <typename Parse, typename Serialize>
void RoundTrip(std::string_view text, Parse parse, Serialize serialize) {
  auto parsed = parse(text);
  if (!parsed) return;
  const std::string once = serialize(*parsed);
  auto again = parse(once);
  if (!again || serialize(*again) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn;
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      RoundTrip(text, attestation_ca::ParseRequest, attestation_ca::SerializeRequest);
      break;
    case 1:
      RoundTrip(text, attestation_ca::ParseResponse, attestation_ca::SerializeResponse);
      break;
    default:
      RoundTrip(text, tpm::ParseAttestationKeyRecord, tpm::SerializeAttestationKeyRecord);
      break;
  }
  return 0;
}
