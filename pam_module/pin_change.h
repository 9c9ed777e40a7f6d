// The PIN change pam_sm_chauthtok offers (`passwd` with a `password` line
// for the module): the current PIN, checked by the TPM through the
// credential's own PIN index, then the new one twice, held to the PIN rules
// (config/pin_rules.h). The credential itself — id, public key, every
// relying party's copy — does not change. No PAM calls here; the glue gives
// the conversation and the log, and maps the outcome to a PAM code.
#pragma once

#include <string>

#include "config/options.h"
#include "pam_module/relying_party.h"
#include "webauthn/authenticator.h"

namespace tpmauthn::pam {

enum class PinChange {
  kChanged,
  kNoPin,        // the user has no TPM PIN credential here: nothing for this module to do
  kWrongPin,     // the current PIN was wrong (one try spent, nothing changed)
  kRefused,      // no answer, the two new PINs differ, or the new one breaks the rules
  kUnavailable,  // TPM or key store unusable, the PIN blocked, several credentials
};

struct PinChangeResult {
  PinChange outcome = PinChange::kUnavailable;
  std::string reason;  // for the log; never holds a PIN
};

// Whether `user` has a TPM PIN credential in the store (PAM_PRELIM_CHECK:
// nothing is asked and nothing changes). An unreadable store is kUnavailable.
PinChangeResult CheckPinChange(const config::Options& options, const std::string& user);

// The change itself (PAM_UPDATE_AUTHTOK).
PinChangeResult ChangePin(const config::Options& options, const std::string& user,
                          webauthn::UserInterface& ui);

}  // namespace tpmauthn::pam
