// Splitting text into lines, for the small line-oriented formats in config/.
#pragma once

#include <string_view>

namespace tpmauthn::config {

// Takes the next line (without its '\n') off the front of `text`; false when
// `text` is exhausted.
inline bool NextLine(std::string_view& text, std::string_view& line) {
  if (text.empty()) return false;
  size_t nl = text.find('\n');
  line = text.substr(0, nl);
  text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  return true;
}

}  // namespace tpmauthn::config
