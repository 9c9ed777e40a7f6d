// tpmauthn enroll / assert / status: the commands that talk to the TPM.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/credential_commands.h"
#include "cli/pin_input.h"
#include "config/options.h"
#include "tpm/connection.h"
#include "tpm/key_store.h"
#include "tpm/tpm_authenticator.h"

namespace tpmauthn::cli {

struct TpmArgs {
  std::optional<std::string> tcti;  // --tcti
  std::string store;                // --store
};

// The TPM the CLI talks to: --tcti, else $TPMAUTHN_TCTI (a CLI convenience;
// the PAM module never reads it), else tcti= in /etc/tpmauthn/tpmauthn.conf,
// else device:/dev/tpmrm0 — the rules of config/tcti.h for each source.
tpm::TpmResult<std::unique_ptr<tpm::Connection>> OpenTpm(const TpmArgs& tpm);

struct EnrollArgs {
  std::string user;
  std::string label;
  std::string uv = "pin";
  std::string pcrs;  // "0,7"
  std::optional<std::string> rp_id, origin, challenge;
  std::optional<int> pin_fd;
  uint32_t pin_tries = tpm::kPinTriesDefault;
  bool json = false;
  std::string authenticator = "tpm";  // tpm | fido2
  std::string device;                 // fido2: which key (default: the one plugged in)
  bool resident = false;              // fido2: a discoverable credential
  std::optional<std::string> counter;  // tpm | file (default: tpm, else file)
  std::string attestation = "self";    // self | tpm
  std::string algorithm = "es256";    // es256 | rs256 (tpm only)
};
int RunEnroll(const TpmArgs& tpm, const CredentialFileArgs& file, const EnrollArgs& args,
              std::ostream& out, std::ostream& err);

struct AssertArgs {
  std::string rp_id, origin, challenge;
  std::optional<std::string> user, credential;
  std::optional<int> pin_fd;
  bool json = false;
};
int RunAssert(const TpmArgs& tpm, const AssertArgs& args, std::ostream& out, std::ostream& err);

int RunStatus(const TpmArgs& tpm, bool json, std::ostream& out, std::ostream& err);

// What SignWithStoredKey signs, and how it asks for the PIN.
struct SignRequest {
  const tpm::KeyRecord& record;
  std::string rp_id;
  std::string client_data_json;
  std::optional<int> pin_fd;  // read the PIN from here instead of the terminal
  std::string pin_prompt;
};

// Connects to the TPM, asks the record's PIN (if it has one) and signs an
// assertion over SHA-256(client_data_json) for rp_id. On failure writes the
// one-line error for `command` and returns the exit code.
webauthn::Result<tpm::MadeAssertion, int> SignWithStoredKey(const TpmArgs& tpm,
                                                             const tpm::KeyStore& store,
                                                             const SignRequest& request,
                                                             const char* command,
                                                             std::ostream& err);

// `remove USER ID`: the credential line, then its key-store file and, for a
// per-credential PIN, its PIN index in the TPM (so no NV space leaks). Needs
// the TPM for the latter; without it nothing is removed.
int RunRemoveWithKey(const TpmArgs& tpm, const CredentialFileArgs& file, const std::string& user,
                     const std::string& credential_id_base64url, std::ostream& out,
                     std::ostream& err);

// A new PIN (enroll, reset-pin, change-pin): asked twice on the terminal or
// one line from `fd`, and held to the PIN rules of tpmauthn.conf.
PinResult ReadNewPin(std::optional<int> fd, const std::string& prompt);

// Writes "tpmauthn: COMMAND: why" and returns the exit code for `error`.
int ReportTpmError(std::ostream& err, const char* command, const tpm::TpmError& error);

}  // namespace tpmauthn::cli
