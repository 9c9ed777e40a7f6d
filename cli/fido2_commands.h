// enroll --authenticator fido2: a credential on a roaming security key.
#pragma once

#include <ostream>

#include "cli/tpm_commands.h"
#include "cli/verb.h"
#include "webauthn/remote_message.h"

namespace tpmauthn::cli {

int RunEnrollFido2(const CredentialFileArgs& file, const EnrollArgs& args, std::ostream& out,
                   std::ostream& err);

// Answers a remote (SSH) request with a security key: the `fido2` line in
// `file` whose id the request's digests name and whose RP ID is the
// request's, asked on the keys plugged in (PIN from --pin-fd or the terminal
// when the request wants UV). Prints the reply line; returns the exit code.
int AnswerWithSecurityKey(const CredentialFileArgs& file, const webauthn::RemoteRequest& request,
                          const std::string& origin, std::optional<int> pin_fd,
                          const char* command, std::ostream& out, std::ostream& err);

}  // namespace tpmauthn::cli
