// PIN quality rules.
#include "config/pin_rules.h"

#include <cstdint>
#include <span>
#include <string>

namespace tpmauthn::config {

std::optional<std::string> PinRuleViolation(const webauthn::SecretBytes& pin,
                                            const PinRules& rules) {
  const std::span<const uint8_t> bytes = pin.bytes();
  // Characters, not bytes: a UTF-8 continuation byte does not start one.
  size_t characters = 0;
  for (uint8_t b : bytes) characters += (b & 0xc0) != 0x80;
  if (characters < rules.min_length) {
    return "shorter than " + std::to_string(rules.min_length) + " characters";
  }
  if (rules.allow_simple || bytes.empty()) return std::nullopt;
  // One (UTF-8) character repeated: the whole is that character's bytes again
  // and again.
  size_t first = 1;
  while (first < bytes.size() && (bytes[first] & 0xc0) == 0x80) ++first;
  bool repeated = bytes.size() % first == 0;
  for (size_t i = first; repeated && i < bytes.size(); ++i) repeated = bytes[i] == bytes[i % first];
  if (repeated) return "one character repeated";
  if (bytes.size() < 2) return std::nullopt;
  bool digits = true;
  for (uint8_t b : bytes) digits = digits && b >= '0' && b <= '9';
  if (!digits) return std::nullopt;
  const int step = (bytes[1] - bytes[0] + 10) % 10;
  bool constant = true;
  for (size_t i = 1; i < bytes.size(); ++i) {
    constant = constant && (bytes[i] - bytes[i - 1] + 10) % 10 == step;
  }
  if (constant) return "digits that each step by the same amount from the one before";
  return std::nullopt;
}

}  // namespace tpmauthn::config
