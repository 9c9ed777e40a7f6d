// The module's side of tpmauthn-helper (pam_module/helper_protocol.h): where
// PAM runs as the user (screen lockers), the module cannot reach the key
// store, the counters or the TPM, so it runs the setuid helper, relays its
// prompts and messages to the caller's conversation, and takes the outcome
// from the helper's reply — never from its exit status alone (a caller may
// have set SIGCHLD to SIG_IGN). A missing, killed or misbehaving helper is
// kUnavailable, never success. No PAM calls here.
#pragma once

#include <string>

#include "pam_module/relying_party.h"
#include "webauthn/authenticator.h"

namespace tpmauthn::pam {

// $libexecdir/tpmauthn/tpmauthn-helper, as installed (a whole string in the
// module's read-only data, so packaging checks can find it).
extern const char kDefaultHelper[];

// How long the module waits for the helper's next frame (the helper may be
// waiting for the TPM, another login's lock or its failure delay).
inline constexpr int kHelperReplyTimeoutMs = 120 * 1000;

// Runs the helper at `path` for `user` (an empty environment, standard input
// a unix socket to this process, standard output and error /dev/null, all
// signals default and unblocked) and relays its conversation through `ui`.
Decision RunHelper(const std::string& path, const std::string& user, webauthn::UserInterface& ui);

}  // namespace tpmauthn::pam
