// pam_tpmauthn.so — PAM glue: options, user, conversation and syslog in; the
// relying party (relying_party.cc) decides; one function maps its decision to
// a PAM code. No exception leaves an entry point; no path
// but a verified assertion returns PAM_SUCCESS, and no error path returns
// PAM_SUCCESS or PAM_IGNORE (PAM_IGNORE means only "no credential" with
// nouserok).
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "config/options.h"
#include "config/safe_file.h"
#include "fido2/system_authenticator.h"
#include "pam_module/helper_client.h"
#include "pam_module/pin_change.h"
#include "pam_module/relying_party.h"
#include "tpm/platform_authenticator.h"
#include "tpm/tss2_environment.h"

namespace tpmauthn::pam {
namespace {

// The one place where outcomes become PAM codes (SPEC "PAM module" table).
int ToPamCode(Outcome outcome, bool nouserok) {
  switch (outcome) {
    case Outcome::kSuccess:
      return PAM_SUCCESS;
    case Outcome::kUserUnknown:
      return nouserok ? PAM_IGNORE : PAM_USER_UNKNOWN;
    case Outcome::kAuthError:
      return PAM_AUTH_ERR;
    case Outcome::kMaxTries:
      return PAM_MAXTRIES;
    case Outcome::kUnavailable:
      return PAM_AUTHINFO_UNAVAIL;
  }
  return PAM_AUTH_ERR;
}

class SyslogLogger : public Logger {
 public:
  SyslogLogger(pam_handle_t* pamh, bool debug) : pamh_(pamh), debug_(debug) {}
  void Log(LogLevel level, const std::string& message) override {
    if (auto priority = SyslogPriority(level, debug_)) {
      pam_syslog(pamh_, *priority, "%s", message.c_str());
    }
  }

 private:
  pam_handle_t* pamh_;
  bool debug_;
};

// The PAM conversation, one message at a time (greeters show one prompt at a
// time; secrets are only ever asked with echo off).
class Conversation : public webauthn::UserInterface {
 public:
  explicit Conversation(pam_handle_t* pamh) : pamh_(pamh) {}

  std::optional<webauthn::SecretBytes> AskSecret(const std::string& prompt) override {
    pam_response* response = Converse(PAM_PROMPT_ECHO_OFF, prompt);
    if (!response) return std::nullopt;
    std::optional<webauthn::SecretBytes> out;
    if (response->resp) {
      size_t length = std::strlen(response->resp);
      out = webauthn::SecretBytes(std::string_view(response->resp, length));
      explicit_bzero(response->resp, length);
      std::free(response->resp);
    }
    std::free(response);
    return out;
  }
  std::optional<std::string> AskText(const std::string& prompt) override {
    pam_response* response = Converse(PAM_PROMPT_ECHO_ON, prompt);
    if (!response) return std::nullopt;
    std::optional<std::string> out;
    if (response->resp) out = std::string(response->resp);
    Discard(response);
    return out;
  }
  void Info(const std::string& message) override { Discard(Converse(PAM_TEXT_INFO, message)); }
  void Error(const std::string& message) override { Discard(Converse(PAM_ERROR_MSG, message)); }

 private:
  pam_response* Converse(int style, const std::string& text) {
    const pam_conv* conv = nullptr;
    if (pam_get_item(pamh_, PAM_CONV, reinterpret_cast<const void**>(&conv)) != PAM_SUCCESS ||
        !conv || !conv->conv) {
      return nullptr;
    }
    pam_message message{style, text.c_str()};
    const pam_message* messages[] = {&message};
    pam_response* response = nullptr;
    if (conv->conv(1, messages, &response, conv->appdata_ptr) != PAM_SUCCESS) {
      if (response) Discard(response);
      return nullptr;
    }
    return response;
  }
  static void Discard(pam_response* response) {
    if (!response) return;
    if (response->resp) {
      explicit_bzero(response->resp, std::strlen(response->resp));
      std::free(response->resp);
    }
    std::free(response);
  }
  pam_handle_t* pamh_;
};

// try_first_pass / use_first_pass: the secret a caller or an earlier module
// collected (PAM_AUTHTOK) answers the first PIN prompt. use_first_pass never
// asks; try_first_pass asks for any later one (after a wrong PIN), or for the
// first when there is no PAM_AUTHTOK.
class FirstPassInterface final : public webauthn::UserInterface {
 public:
  FirstPassInterface(pam_handle_t* pamh, webauthn::UserInterface& ui, const config::Options& o)
      : pamh_(pamh), ui_(ui), use_(o.use_first_pass), try_(o.try_first_pass) {}

  std::optional<webauthn::SecretBytes> AskSecret(const std::string& prompt) override {
    // A security key's PIN is never PAM_AUTHTOK (the login password, most
    // likely: each wrong one spends one of the key's few tries). With
    // use_first_pass nothing is asked, so such a key cannot verify the user.
    if (prompt == webauthn::kSecurityKeyPinPrompt) {
      if (use_) return std::nullopt;
      return ui_.AskSecret(prompt);
    }
    if ((use_ || try_) && !first_taken_) {
      first_taken_ = true;
      const void* item = nullptr;
      // An empty PAM_AUTHTOK counts as none.
      if (pam_get_item(pamh_, PAM_AUTHTOK, &item) == PAM_SUCCESS && item &&
          *static_cast<const char*>(item) != '\0') {
        return webauthn::SecretBytes(std::string_view(static_cast<const char*>(item)));
      }
    }
    if (use_) return std::nullopt;
    return ui_.AskSecret(prompt);
  }
  std::optional<std::string> AskText(const std::string& prompt) override {
    return ui_.AskText(prompt);
  }
  void Info(const std::string& message) override { ui_.Info(message); }
  void Error(const std::string& message) override { ui_.Error(message); }

 private:
  pam_handle_t* pamh_;
  webauthn::UserInterface& ui_;
  bool use_, try_;
  bool first_taken_ = false;
};

// The TPM authenticator, with tpm2-tss kept away from the caller's environment
// from before the TPM is opened until it is closed (tpm/tss2_environment.h).
class IsolatedTpmAuthenticator final : public webauthn::Authenticator {
 public:
  static AuthenticatorResult Open(const config::Options& options, webauthn::UserInterface& ui,
                                  const std::string& prompt) {
    auto environment = std::make_unique<tpm::Tss2Environment>();
    auto opened = tpm::PlatformAuthenticator::Open(options.tcti, options.store, ui, prompt);
    if (!opened) return opened.error();
    return std::unique_ptr<webauthn::Authenticator>(
        new IsolatedTpmAuthenticator(std::move(environment), std::move(*opened)));
  }

  webauthn::Result<webauthn::AssertionOutput, webauthn::AuthenticatorError> GetAssertion(
      const webauthn::GetAssertionOptions& options) override {
    return tpm_->GetAssertion(options);
  }

 private:
  IsolatedTpmAuthenticator(std::unique_ptr<tpm::Tss2Environment> environment,
                           std::unique_ptr<tpm::PlatformAuthenticator> tpm)
      : environment_(std::move(environment)), tpm_(std::move(tpm)) {}
  // Declared first, so destroyed last: after the TPM connection is closed.
  std::unique_ptr<tpm::Tss2Environment> environment_;
  std::unique_ptr<tpm::PlatformAuthenticator> tpm_;
};

}  // namespace

// The effective options: module arguments over the root-owned tpmauthn.conf.
// Nothing here reads the process environment (inside su and sudo it is the
// caller's). Any mistake is logged by name and the module fails closed.
std::optional<config::Options> ReadOptions(pam_handle_t* pamh, int argc, const char** argv) {
  auto config_text = config::ReadConfigFile(config::kDefaultConfigFile);
  if (!config_text) {
    pam_syslog(pamh, LOG_ERR, "%s", config_text.error().message.c_str());
    return std::nullopt;
  }
  std::vector<std::string_view> args(argv, argv + (argc > 0 ? argc : 0));
  auto options = config::ResolveOptions(*config_text, config::kDefaultConfigFile, args);
  if (!options) {
    pam_syslog(pamh, LOG_ERR, "%s; refusing to authenticate", options.error().message.c_str());
    return std::nullopt;
  }
  return std::move(*options);
}

std::optional<uid_t> UidOf(const char* user) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(user, &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
    return std::nullopt;
  }
  return found->pw_uid;
}

std::optional<std::string> RemoteUser(pam_handle_t* pamh) {
  const char* ruser = nullptr;
  if (pam_get_item(pamh, PAM_RUSER, reinterpret_cast<const void**>(&ruser)) != PAM_SUCCESS ||
      !ruser) {
    return std::nullopt;
  }
  return std::string(ruser);
}

// The uid of the process at the other end of standard input, when that is a
// connected unix socket (polkit 126 runs its agent helper as root, socket-
// activated, for whichever agent connects).
std::optional<uid_t> StdinPeerUid() {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(0, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      address.ss_family != AF_UNIX) {
    return std::nullopt;
  }
  ucred peer{};
  socklen_t size = sizeof(peer);
  if (::getsockopt(0, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || size != sizeof(peer)) {
    return std::nullopt;
  }
  return peer.uid;
}

// Why the PIN is not this caller's to spend, unless pin_for_others.
std::optional<std::string> ForeignCaller(pam_handle_t* pamh, const config::Options& options,
                                         const char* user) {
  if (options.pin_for_others) return std::nullopt;
  return SomeoneElseAsking(::getuid(), StdinPeerUid(), UidOf(user), RemoteUser(pamh), user);
}

int AuthenticateWithPam(pam_handle_t* pamh, int argc, const char** argv) {
  const std::optional<config::Options> options = ReadOptions(pamh, argc, argv);
  if (!options) return ToPamCode(Outcome::kUnavailable, false);
  const char* user = nullptr;
  if (pam_get_user(pamh, &user, nullptr) != PAM_SUCCESS || !user || !*user) {
    pam_syslog(pamh, LOG_ERR, "cannot determine the user name");
    return ToPamCode(Outcome::kUnavailable, false);
  }
  const char* rhost = nullptr;
  pam_get_item(pamh, PAM_RHOST, reinterpret_cast<const void**>(&rhost));
  SyslogLogger log(pamh, options->debug);
  Conversation pam_conversation(pamh);
  FirstPassInterface conversation(pamh, pam_conversation, *options);
  // PAM run as the user (a screen locker): the key store, the counters and
  // the TPM are root's, so the setuid helper runs the flow (helper_client.h).
  if (::geteuid() != 0) {
    const std::string helper = options->helper.value_or(kDefaultHelper);
    Decision decision = RunHelper(helper, user, conversation);
    const int code = ToPamCode(decision.outcome, options->nouserok);
    if (decision.outcome != Outcome::kSuccess) {
      log.Log(decision.outcome == Outcome::kUnavailable ? LogLevel::kError : LogLevel::kNotice,
              std::string("refused ") + user + " through " + helper + ": " + decision.reason +
                  " (" + pam_strerror(pamh, code) + ")");
    }
    return code;
  }
  const std::string prompt = options->prompt.value_or("PIN for %s: ");
  // Only when the user has credentials to try: are their PIN tries (the
  // TPM's, or a security key's) this caller's to spend? Unavailable, not
  // PAM_IGNORE: sufficient and [default=ignore] lines go on to the password
  // as with ignore, but `required` + pam_permit stays closed.
  auto refuse_foreign = [&]() -> std::optional<webauthn::AuthenticatorError> {
    auto why = ForeignCaller(pamh, *options, user);
    if (!why) return std::nullopt;
    return webauthn::AuthenticatorError{webauthn::AuthenticatorErrorKind::kUnavailable,
                                        "not offering " + std::string(user) + "'s PIN: " + *why +
                                            " (module option pin_for_others allows it)",
                                        std::nullopt, std::nullopt, false, {}};
  };
  Environment env{
      conversation,
      log,
      [&](webauthn::UserInterface& ui) -> AuthenticatorResult {
        if (auto refused = refuse_foreign()) return *refused;
        return IsolatedTpmAuthenticator::Open(*options, ui, prompt);
      },
      [&](webauthn::ByteView id) { return tpm::PlatformAuthenticator::HasKey(options->store, id); },
      rhost && *rhost ? std::optional<std::string>(rhost) : std::nullopt,
      [&](webauthn::ByteView id) {
        return tpm::PlatformAuthenticator::EnrolledUser(options->store, id);
      },
      [&](webauthn::UserInterface& ui) -> AuthenticatorResult {
        if (auto refused = refuse_foreign()) return *refused;
        fido2::Fido2Settings settings;
        settings.timeout_ms = fido2::TouchTimeoutMs(options->timeout_seconds);
        return fido2::NewSystemAuthenticator(ui, std::move(settings));
      },
  };
  Decision decision = pam::Authenticate(*options, user, env);
  const int code = ToPamCode(decision.outcome, options->nouserok);
  if (decision.outcome == Outcome::kSuccess) {
    log.Log(LogLevel::kDebug, std::string("authenticated ") + user);
  } else {
    log.Log(decision.outcome == Outcome::kUserUnknown ? LogLevel::kInfo : LogLevel::kNotice,
            std::string("refused ") + user + ": " + decision.reason + " (" +
                pam_strerror(pamh, code) + ")");
  }
  return code;
}

// pam_sm_chauthtok: PAM_PRELIM_CHECK only says whether there is a PIN to
// change here; PAM_UPDATE_AUTHTOK changes it (pin_change.h).
int ChangePinWithPam(pam_handle_t* pamh, int flags, int argc, const char** argv) {
  const std::optional<config::Options> options = ReadOptions(pamh, argc, argv);
  if (!options) return PAM_AUTHTOK_ERR;
  const char* user = nullptr;
  if (pam_get_user(pamh, &user, nullptr) != PAM_SUCCESS || !user || !*user) {
    pam_syslog(pamh, LOG_ERR, "cannot determine the user name");
    return PAM_AUTHTOK_ERR;
  }
  SyslogLogger log(pamh, options->debug);
  // Users without a TPM PIN here are not this module's business; for the
  // others, is the PIN this caller's to change?
  PinChangeResult result = CheckPinChange(*options, user);
  if (result.outcome == PinChange::kChanged) {
    if (auto why = ForeignCaller(pamh, *options, user)) {
      log.Log(LogLevel::kNotice, std::string("not changing ") + user + "'s PIN: " + *why);
      return PAM_PERM_DENIED;
    }
    Conversation conversation(pamh);
    if (!(flags & PAM_PRELIM_CHECK)) result = ChangePin(*options, user, conversation);
  }
  switch (result.outcome) {
    case PinChange::kChanged:
      if (!(flags & PAM_PRELIM_CHECK)) log.Log(LogLevel::kInfo, result.reason);
      return PAM_SUCCESS;
    case PinChange::kNoPin:
      return PAM_IGNORE;  // someone else's stack line (pam_unix) changes passwords
    case PinChange::kWrongPin:
      log.Log(LogLevel::kNotice, "PIN not changed for " + std::string(user) + ": " + result.reason);
      return PAM_AUTH_ERR;
    case PinChange::kRefused:
    case PinChange::kUnavailable:
      break;
  }
  log.Log(LogLevel::kNotice, "PIN not changed for " + std::string(user) + ": " + result.reason);
  return PAM_AUTHTOK_ERR;
}

}  // namespace tpmauthn::pam

// Everything is built with -fvisibility=hidden; only these four are exported
// (and the version script keeps it that way). <security/pam_modules.h>
// declares them without noexcept, so the definitions cannot add it; instead
// pam_sm_authenticate and pam_sm_chauthtok catch everything and the others
// cannot throw.
#define TPMAUTHN_PAM_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" {

TPMAUTHN_PAM_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int /*flags*/, int argc,
                                   const char** argv) {
  try {
    return tpmauthn::pam::AuthenticateWithPam(pamh, argc, argv);
  } catch (const std::exception& e) {
    pam_syslog(pamh, LOG_ERR, "internal error: %s", e.what());
  } catch (...) {
    pam_syslog(pamh, LOG_ERR, "internal error");
  }
  return PAM_AUTHINFO_UNAVAIL;
}

// An auth-only module sets no credentials.
TPMAUTHN_PAM_EXPORT int pam_sm_setcred(pam_handle_t*, int, int, const char**) {
  return PAM_SUCCESS;
}

// Not an account or password module: let the rest of those stacks decide.
TPMAUTHN_PAM_EXPORT int pam_sm_acct_mgmt(pam_handle_t*, int, int, const char**) {
  return PAM_IGNORE;
}

TPMAUTHN_PAM_EXPORT int pam_sm_chauthtok(pam_handle_t* pamh, int flags, int argc,
                                         const char** argv) {
  try {
    return tpmauthn::pam::ChangePinWithPam(pamh, flags, argc, argv);
  } catch (const std::exception& e) {
    pam_syslog(pamh, LOG_ERR, "internal error: %s", e.what());
  } catch (...) {
    pam_syslog(pamh, LOG_ERR, "internal error");
  }
  return PAM_AUTHTOK_ERR;
}

}  // extern "C"
