// What makes a PIN acceptable when one is set (enroll, reset-pin,
// change-pin, pam_sm_chauthtok): at least `min_length` characters, and —
// unless `allow_simple` — not one repeated character and not a run of digits
// that step by a constant amount counting modulo 10 (111111, 123456, 987654,
// 135791, 890123). The TPM bounds guessing to a few tries per credential;
// these rules keep those few tries from being the ones every attacker tries
// first. Set in /etc/tpmauthn/tpmauthn.conf (pin_min_length=,
// pin_allow_simple), which only root writes.
#pragma once

#include <optional>
#include <string>

#include "webauthn/secret.h"

namespace tpmauthn::config {

struct PinRules {
  unsigned min_length = 6;
  bool allow_simple = false;
};

// nullopt if `pin` is acceptable, else why not ("shorter than 6 characters",
// "digits that each step by the same amount ..."). Never quotes the PIN.
std::optional<std::string> PinRuleViolation(const webauthn::SecretBytes& pin,
                                            const PinRules& rules);

}  // namespace tpmauthn::config
