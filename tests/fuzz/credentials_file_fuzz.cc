// libFuzzer harness: the credentials-file reader (every line, duplicates), with
// the first token as the selected user; what parses must format and re-parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "config/credential_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::config;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto all = ParseCredentials(text, "fuzz", std::nullopt);
  if (all) {
    for (const Credential& c : *all) {
      auto again = ParseCredentialLine(FormatCredentialLine(c));
      if (!again || FormatCredentialLine(*again) != FormatCredentialLine(c)) std::abort();
    }
  }
  (void)ParseCredentials(text, "fuzz", std::string(text.substr(0, text.find(' '))));
  return 0;
}
