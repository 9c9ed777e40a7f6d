// The client side of remote (SSH) mode:
//   tpmauthn respond --origin ssh://HOST [REQUEST]   answer a request by hand
//   tpmauthn ssh [ssh arguments]                      ssh with tpmauthn as SSH_ASKPASS
//   tpmauthn ssh-askpass PROMPT                       the askpass itself
// The origin always comes from the host the user connects to (or types),
// never from the request, so a request relayed by another server yields an
// answer the real server rejects.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/tpm_commands.h"
#include "cli/verb.h"

namespace tpmauthn::cli {

// Which authenticator answers: "tpm", "fido2" (a security key holding one of
// the `fido2` credentials in the credentials file), or "" (the TPM, else a
// security key when the TPM store holds no credential the server accepts).
struct RespondArgs {
  std::string origin;
  std::optional<std::string> request;  // else read one line from stdin
  std::optional<int> pin_fd;
  std::string authenticator;
};
int RunRespond(const TpmArgs& tpm, const CredentialFileArgs& file, const RespondArgs& args,
               std::ostream& out, std::ostream& err);

// As SSH_ASKPASS: a tpmauthn request is answered with the local TPM or a
// security key (PIN asked on /dev/tty; origin from $TPMAUTHN_SSH_ORIGIN, the
// authenticator from $TPMAUTHN_SSH_AUTHENTICATOR); any other prompt is shown
// on /dev/tty and the user's answer printed unchanged.
int RunSshAskpass(const TpmArgs& tpm, const CredentialFileArgs& file, const std::string& prompt,
                  std::ostream& out, std::ostream& err);

// Runs OpenSSH's ssh with tpmauthn as its askpass and the origin of the host
// `ssh -G` resolves the destination to. Returns ssh's exit status.
int RunSsh(const TpmArgs& tpm, const CredentialFileArgs& file, const std::string& authenticator,
           const std::vector<std::string>& ssh_args, std::ostream& err);

}  // namespace tpmauthn::cli
