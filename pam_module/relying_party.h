// The relying party behind pam_tpmauthn: credentials → fresh challenge →
// clientDataJSON → an Authenticator → every WebAuthn L3 §7.2 check with the
// enrolled key → sign counter stored → decision. No PAM calls and no TPM calls
// here; pam_tpmauthn.cc supplies the conversation, the log and the TPM.
#pragma once

#include <sys/types.h>
#include <syslog.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/counter_store.h"
#include "config/credential.h"
#include "config/options.h"
#include "pam_module/assertion_lock.h"
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

inline Decision Decide(Outcome outcome, std::string reason) {
  return Decision{outcome, std::move(reason)};
}

enum class LogLevel { kDebug, kInfo, kNotice, kError };

// The syslog(3) priority of a level; nullopt for kDebug unless `debug` (the
// module's and the helper's loggers both go by this).
inline std::optional<int> SyslogPriority(LogLevel level, bool debug) {
  switch (level) {
    case LogLevel::kDebug:
      return debug ? std::optional<int>(LOG_DEBUG) : std::nullopt;
    case LogLevel::kInfo:
      return LOG_INFO;
    case LogLevel::kNotice:
      return LOG_NOTICE;
    case LogLevel::kError:
      return LOG_ERR;
  }
  return LOG_ERR;
}

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
  // Opens the roaming-key authenticator (fido2/); null where there is none
  // (then `fido2` credentials are not offered).
  std::function<AuthenticatorResult(webauthn::UserInterface& ui)> open_fido2 = nullptr;
};

using LocalKeyUserFn =
    std::function<config::ConfigResult<std::optional<std::string>>(webauthn::ByteView)>;

// The user's credentials from the central file and, with user_credentials,
// ~/.config/tpmauthn/credentials read with the user's privileges. Missing
// files hold no credentials; unreadable or invalid files are errors. So is a
// personal-file line whose credential id is in the central file (for anyone)
// or whose key in this machine's store was enrolled for another user
// (`local_key_user`, may be null): ids are public, and a line that borrows
// one could otherwise pass for that credential.
//
// `directory` (may be null): lines a credentials_command printed for the
// user, checked as the personal file's are (and never an id also in the
// personal file); `directory_source` names them in errors.
config::ConfigResult<std::vector<config::Credential>> LoadCredentials(
    const config::Options& options, const std::string& user,
    const LocalKeyUserFn& local_key_user = nullptr,
    std::vector<config::Credential>* directory = nullptr,
    const std::string& directory_source = {});

// Step 1: where credentials come from. An unreadable or invalid source is an
// error, never "no credentials" (nouserok must not let a user through when a
// source failed).
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual config::ConfigResult<std::vector<config::Credential>> Load(const std::string& user) = 0;
};

// The credentials files (LoadCredentials).
class FileCredentialSource final : public CredentialSource {
 public:
  FileCredentialSource(const config::Options& options, LocalKeyUserFn local_key_user);
  config::ConfigResult<std::vector<config::Credential>> Load(const std::string& user) override;

 private:
  const config::Options& options_;
  LocalKeyUserFn local_key_user_;
};

// The files, and with credentials_command= the program's lines for the user
// (config/credentials_command.h): parsed with the same strict grammar, every
// line for this user, no id also in the files. While the directory is
// unreachable (exit 75) the last good answer stands in up to cache_max_age,
// and the log says so; any other failure of the program is an error.
class CombinedCredentialSource final : public CredentialSource {
 public:
  CombinedCredentialSource(const config::Options& options, LocalKeyUserFn local_key_user,
                           Logger& log);
  config::ConfigResult<std::vector<config::Credential>> Load(const std::string& user) override;

 private:
  config::ConfigResult<std::string> CommandLines(const std::string& user);
  const config::Options& options_;
  LocalKeyUserFn local_key_user_;
  Logger& log_;
};

// Step 2: which authenticators, and which of the user's credentials each is
// offered.
struct Plan {
  // kRemote: the client's authenticator over the conversation.
  config::AuthenticatorKind kind = config::AuthenticatorKind::kTpm;
  std::string rp_id, origin;
  std::vector<const config::Credential*> usable;  // point into the loaded credentials
  bool remote() const { return kind == config::AuthenticatorKind::kRemote; }
};

// Local mode: one plan per kind in `authenticators=` order that the user has
// credentials for — `tpm` credentials whose keys are in this machine's
// store, `fido2` credentials (when env.open_fido2 is set). Remote mode: the
// user's `remote` credentials. mode=auto picks remote when PAM_RHOST is set
// or there is no local plan. No usable credential: kUnavailable.
webauthn::Result<std::vector<Plan>, Decision> ChoosePlans(
    const config::Options& options, const std::string& user,
    const std::vector<config::Credential>& credentials, const Environment& env);

// Step 3: one attempt — a fresh 32-byte challenge from getrandom(2), the
// clientDataJSON, the authenticator asked (under the assertion lock in local
// mode, which is not held while the user is prompted).
struct Answer {
  webauthn::Bytes challenge;
  std::string client_data;  // what this relying party serialized
  webauthn::AssertionOutput output;
};
// How an attempt ended without an answer: a decision, or nullopt for "a
// wrong PIN, ask again" (tries remain).
struct AttemptEnd {
  std::optional<Decision> decision;
  // The authenticator could not be used at all (missing, locked out, PIN
  // blocked, none of the credentials on it): the next plan may be tried.
  bool fall_back = false;
};
webauthn::Result<Answer, AttemptEnd> RunAttempt(const config::Options& options,
                                                const std::string& user, const Plan& plan,
                                                unsigned attempt, webauthn::Authenticator& device,
                                                AssertionLock& ordered, Environment& env);
// The authenticator's refusal as the user and the log see it.
AttemptEnd MapAuthenticatorError(const config::Options& options, const std::string& user,
                                 unsigned attempt, const webauthn::AuthenticatorError& error,
                                 Environment& env);

// Step 4: every WebAuthn L3 §7.2 check with the enrolled key of the
// credential that answered (which must be one offered), and the counter
// stored (CounterStore::Advance) before kSuccess.
Decision VerifyAndStore(const config::Options& options, const std::string& user, const Plan& plan,
                        const Answer& answer, const config::CounterStore& counters,
                        Environment& env);

// The whole authentication: the steps above in order, plan after plan while
// an authenticator cannot be used (AttemptEnd::fall_back; the user is told
// why and which comes next). Never returns kSuccess
// unless an assertion from one of `user`'s credentials passed every check and
// its counter was stored. Local assertions are ordered by an AssertionLock
// per state directory, from the TPM's signature to the stored counter.
Decision Authenticate(const config::Options& options, const std::string& user, Environment& env,
                      CredentialSource& source);
// With the credentials files (and credentials_command) as the source.
Decision Authenticate(const config::Options& options, const std::string& user, Environment& env);

// Who may spend a credential's PIN tries (a blocked PIN stays blocked until
// an administrator resets it): the user, or a root caller such as a greeter
// or console login, with someone at the keyboard. Not someone else who runs
// a setuid program to authenticate as the user (`su bob` by alice, polkit's
// agent helper asked for another admin): the real uid is neither 0 nor the
// user's, or PAM_RUSER names another user than the user or (for a root
// caller) root. A root process serving a unix-socket client (polkit 126's
// socket-activated agent helper) is judged by `peer_uid`, the uid at the
// other end of its standard input, when it has one. nullopt: the PIN may be
// offered; else why not (for the log), and the module answers
// PAM_AUTHINFO_UNAVAIL so the stack's password line goes on. The module's
// pin_for_others skips this.
std::optional<std::string> SomeoneElseAsking(uid_t real_uid, std::optional<uid_t> peer_uid,
                                             std::optional<uid_t> user_uid,
                                             const std::optional<std::string>& ruser,
                                             const std::string& user);

}  // namespace tpmauthn::pam
