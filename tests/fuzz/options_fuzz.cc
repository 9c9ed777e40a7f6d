// libFuzzer harness: tpmauthn.conf text and, split on whitespace, module arguments.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "config/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::config;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of(" \n\t", pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) args.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  (void)ResolveOptions(text, "fuzz.conf", args);
  return 0;
}
