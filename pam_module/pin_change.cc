// pam_sm_chauthtok's PIN change over tpm/'s per-credential PIN lifecycle.
#include "pam_module/pin_change.h"

#include <optional>
#include <vector>

#include "config/pin_rules.h"
#include "config/plural.h"
#include "tpm/connection.h"
#include "tpm/key_store.h"
#include "tpm/tpm_authenticator.h"
#include "tpm/tss2_environment.h"

namespace tpmauthn::pam {
namespace {

PinChangeResult Result(PinChange outcome, std::string reason) {
  return PinChangeResult{outcome, std::move(reason)};
}

// The user's one per-credential-PIN credential, or why there is none to change.
PinChangeResult Find(const config::Options& options, const std::string& user,
                     std::optional<tpm::KeyRecord>& found) {
  auto records = tpm::KeyStore(options.store).List();
  if (!records) return Result(PinChange::kUnavailable, records.error().message);
  std::vector<tpm::KeyRecord> mine;
  bool legacy = false;
  for (auto& r : *records) {
    if (r.user != user || !r.pin) continue;
    if (!r.pin_index) {
      legacy = true;
      continue;
    }
    mine.push_back(std::move(r));
  }
  if (mine.empty()) {
    return Result(legacy ? PinChange::kUnavailable : PinChange::kNoPin,
                  legacy ? "only a credential from before per-credential PINs, whose PIN cannot "
                           "change; re-enroll it"
                         : "no TPM PIN credential for " + user);
  }
  if (mine.size() > 1) {
    return Result(PinChange::kUnavailable,
                  config::CountOf(mine.size(), "PIN credential", "PIN credentials") + " for " +
                      user + "; use tpmauthn change-pin --credential");
  }
  found = std::move(mine.front());
  return Result(PinChange::kChanged, "");
}

}  // namespace

PinChangeResult CheckPinChange(const config::Options& options, const std::string& user) {
  std::optional<tpm::KeyRecord> found;
  return Find(options, user, found);
}

PinChangeResult ChangePin(const config::Options& options, const std::string& user,
                          webauthn::UserInterface& ui) {
  std::optional<tpm::KeyRecord> found;
  if (auto checked = Find(options, user, found); !found) {
    if (checked.outcome == PinChange::kUnavailable) ui.Error("The PIN cannot be changed here.");
    return checked;
  }
  const std::string label = found->label.empty() ? "this computer's TPM" : found->label;
  std::optional<webauthn::SecretBytes> current = ui.AskSecret("Current PIN for " + label + ": ");
  if (!current || current->empty()) return Result(PinChange::kRefused, "no current PIN");
  std::optional<webauthn::SecretBytes> fresh = ui.AskSecret("New PIN: ");
  if (!fresh || fresh->empty()) return Result(PinChange::kRefused, "no new PIN");
  std::optional<webauthn::SecretBytes> again = ui.AskSecret("Retype new PIN: ");
  if (!again || !again->Equals(*fresh)) {
    ui.Error("The PINs do not match.");
    return Result(PinChange::kRefused, "the two new PINs differ");
  }
  if (auto why = config::PinRuleViolation(*fresh, {options.pin_min_length,
                                                   options.pin_allow_simple})) {
    ui.Error("The new PIN is too easy to guess: " + *why + ".");
    return Result(PinChange::kRefused, "new PIN refused: " + *why);
  }

  // tpm2-tss sees none of the caller's environment (tpm/tss2_environment.h).
  tpm::Tss2Environment environment;
  auto connection = tpm::Connection::Open(options.tcti);
  if (!connection) return Result(PinChange::kUnavailable, connection.error().message);
  tpm::KeyStore store(options.store);
  tpm::TpmAuthenticator authenticator(**connection, store);
  auto changed = authenticator.ChangePin(found->credential_id, *current, *fresh);
  if (changed) return Result(PinChange::kChanged, "PIN changed for " + user);
  const tpm::TpmError& e = changed.error();
  switch (e.kind) {
    case tpm::TpmErrorKind::kWrongPin:
      ui.Error(e.tries_left == 0u ? "Wrong PIN. PIN blocked: ask an administrator to reset it."
               : e.tries_left
                   ? "Wrong PIN. " + config::CountOf(*e.tries_left, "try", "tries") + " left."
                   : "Wrong PIN.");
      return Result(PinChange::kWrongPin, e.message);
    case tpm::TpmErrorKind::kPinBlocked:
      ui.Error("PIN blocked: ask an administrator to reset it.");
      return Result(PinChange::kUnavailable, e.message);
    default:
      return Result(PinChange::kUnavailable, e.message);
  }
}

}  // namespace tpmauthn::pam
