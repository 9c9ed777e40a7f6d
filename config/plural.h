// Counts in messages: "1 try", "2 tries", "0 credentials".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tpmauthn::config {

// `n` followed by `one` when n == 1, else by `many`.
inline std::string CountOf(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace tpmauthn::config
