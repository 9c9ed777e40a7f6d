// The relying party behind pam_tpmauthn: credentials → fresh challenge →
// clientDataJSON → an Authenticator → every WebAuthn L3 §7.2 check with the
// enrolled key → sign counter stored → decision. No PAM calls and no TPM calls
// here; pam_tpmauthn.cc supplies the conversation, the log and the TPM.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/credential.h"
#include "config/options.h"
#include "webauthn/authenticator.h"

namespace tpmauthn::pam {

enum class Outcome {
  kSuccess,      // a verified assertion from this user's credential, counter stored
  kUserUnknown,  // files readable, the user has no credential
  kAuthError,    // a failed check, wrong PIN, no PIN, tampered or replayed response
  kMaxTries,     // max_tries wrong PINs
  kUnavailable,  // TPM unavailable or locked out, files unreadable/invalid, state corrupt
};

struct Decision {
  Outcome outcome = Outcome::kUnavailable;
  std::string reason;  // for the log; never holds secrets
};

enum class LogLevel { kDebug, kInfo, kNotice, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Log(LogLevel level, const std::string& message) = 0;
};

using AuthenticatorResult =
    webauthn::Result<std::unique_ptr<webauthn::Authenticator>, webauthn::AuthenticatorError>;

struct Environment {
  webauthn::UserInterface& ui;
  Logger& log;
  // Opens the authenticator (connects to the TPM), which must talk to the
  // user through `ui`; called only when the user has credentials to try.
  std::function<AuthenticatorResult(webauthn::UserInterface& ui)> open_authenticator;
  // Whether this machine's key store holds `credential_id`.
  std::function<bool(webauthn::ByteView credential_id)> has_local_key;
  // PAM_RHOST: set when the user comes in over the network (sshd).
  std::optional<std::string> remote_host;
  // The user a key in this machine's store was enrolled for (nullopt: no key
  // here). Personal-file lines naming another user's key are refused.
  std::function<config::ConfigResult<std::optional<std::string>>(webauthn::ByteView credential_id)>
      local_key_user;

};

// The user's credentials from the central file and, with user_credentials,
// ~/.config/tpmauthn/credentials read with the user's privileges. Missing
// files hold no credentials; unreadable or invalid files are errors. So is a
// personal-file line whose credential id is in the central file (for anyone)
// or whose key in this machine's store was enrolled for another user
// (`local_key_user`, may be null): ids are public, and a line that borrows
// one could otherwise pass for that credential.
config::ConfigResult<std::vector<config::Credential>> LoadCredentials(
    const config::Options& options, const std::string& user,
    const std::function<config::ConfigResult<std::optional<std::string>>(webauthn::ByteView)>&
        local_key_user = nullptr);

// The whole authentication. Never returns kSuccess unless an assertion from
// one of `user`'s credentials passed every check and its counter was stored.
//
// Local mode uses the user's `tpm` credentials whose keys are in this
// machine's store, one login at a time per state directory from the TPM's
// signature to the stored counter (AssertionLock; not while asking for a PIN); remote mode uses their `remote` credentials and asks the
// client over the conversation (RemoteAuthenticator). mode=auto picks remote
// when PAM_RHOST is set or none of the user's credentials has a key here.
Decision Authenticate(const config::Options& options, const std::string& user, Environment& env);

}  // namespace tpmauthn::pam
