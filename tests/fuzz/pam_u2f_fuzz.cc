// libFuzzer harness: pam-u2f authfile import (both formats); every credential
// it yields must be a valid tpmauthn line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "config/pam_u2f_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::config;
  static const ImportSettings kSettings{"pam://fuzz", "pam://fuzz", "2026-01-01"};
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = IsSshFormatAuthfile(text) ? ParsePamU2fSshKey(text, "fuzz", "alice", kSettings)
                                           : ParsePamU2fAuthfile(text, "fuzz", kSettings);
  if (parsed) {
    for (const Credential& c : parsed->credentials) {
      if (!ParseCredentialLine(FormatCredentialLine(c))) std::abort();
    }
  }
  return 0;
}
