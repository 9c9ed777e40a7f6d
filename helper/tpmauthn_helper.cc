// tpmauthn-helper — the setuid-root side of pam_tpmauthn.so for PAM callers
// that run as the user (screen lockers), after unix_chkpwd: started by the
// module with a unix socket on standard input, it runs the module's own
// relying-party flow (credentials, TPM, WebAuthn L3 §7.2 checks, counters) for
// the user whose uid is its real uid (root: anyone), relays prompts and
// messages over the socket (pam_module/helper_protocol.h) and sends back only
// the outcome. Its configuration comes only from /etc/tpmauthn/tpmauthn.conf
// and the files that names; nothing of its caller's — arguments, environment,
// descriptors, umask, signal dispositions — is trusted.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "config/options.h"
#include "config/privileges.h"
#include "fido2/system_authenticator.h"
#include "helper/failure_delay.h"
#include "pam_module/helper_protocol.h"
#include "pam_module/relying_party.h"
#include "tpm/platform_authenticator.h"

namespace tpmauthn::helper {
namespace {

using pam::Decision;
using pam::Outcome;
using pam::helper::Direction;
using pam::helper::FrameType;

constexpr int kProtocolFd = 0;
// The module sends its request right after starting the helper.
constexpr int kRequestTimeoutMs = 30 * 1000;

// Standard descriptors that are closed become /dev/null (so nothing the
// helper opens lands on 0-2), and every other inherited descriptor is closed.
bool SanitizeDescriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int opened = ::open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (opened != fd) return false;
    }
  }
  return ::close_range(3, ~0u, 0) == 0;
}

class SyslogLogger final : public pam::Logger {
 public:
  explicit SyslogLogger(bool debug) : debug_(debug) {}
  void Log(pam::LogLevel level, const std::string& message) override {
    if (auto priority = pam::SyslogPriority(level, debug_)) ::syslog(*priority, "%s", message.c_str());
  }

 private:
  bool debug_;
};

// The caller's conversation, over the socket. A broken connection ends the
// helper (there is nobody left to answer).
class SocketInterface final : public webauthn::UserInterface {
 public:
  std::optional<webauthn::SecretBytes> AskSecret(const std::string& prompt) override {
    auto answer = Ask(FrameType::kPromptSecret, prompt);
    if (!answer) return std::nullopt;
    return std::move(answer->payload);
  }
  std::optional<std::string> AskText(const std::string& prompt) override {
    auto answer = Ask(FrameType::kPromptText, prompt);
    if (!answer) return std::nullopt;
    return std::string(webauthn::AsString(answer->payload.bytes()));
  }
  void Info(const std::string& message) override { Send(FrameType::kInfo, message); }
  void Error(const std::string& message) override { Send(FrameType::kError, message); }

 private:
  static void Send(FrameType type, const std::string& text) {
    const std::string_view shown = std::string_view(text).substr(0, pam::helper::kMaxMessage);
    if (auto sent = pam::helper::WriteFrame(kProtocolFd, type, webauthn::AsBytes(shown)); !sent) {
      ::syslog(LOG_NOTICE, "the caller went away: %s", sent.error().message.c_str());
      ::_exit(1);
    }
  }
  // The user may take as long as they like; the caller closing the socket
  // ends the wait.
  static std::optional<pam::helper::Frame> Ask(FrameType type, const std::string& prompt) {
    Send(type, prompt);
    auto frame = pam::helper::ReadFrame(kProtocolFd, Direction::kToHelper, -1);
    if (!frame) {
      ::syslog(LOG_NOTICE, "no answer from the caller: %s", frame.error().message.c_str());
      ::_exit(1);
    }
    if (frame->type == FrameType::kNoAnswer) return std::nullopt;
    if (frame->type != FrameType::kAnswer) {
      ::syslog(LOG_ERR, "the caller broke the protocol: a request where an answer belongs");
      ::_exit(1);
    }
    return std::move(*frame);
  }
};

void SendResult(Outcome outcome) {
  const uint8_t code = static_cast<uint8_t>(outcome);
  (void)pam::helper::WriteFrame(kProtocolFd, FrameType::kResult, webauthn::ByteView(&code, 1));
}

// The request, the caller rule, the system options and the flow.
Decision Serve() {
  auto request = pam::helper::ReadFrame(kProtocolFd, Direction::kToHelper, kRequestTimeoutMs);
  if (!request) return pam::Decide(Outcome::kUnavailable, "request: " + request.error().message);
  if (request->type != FrameType::kRequest) {
    return pam::Decide(Outcome::kUnavailable, "request: the first frame must be a request");
  }
  const std::string user = pam::helper::RequestUser(*request);
  const uid_t caller = ::getuid();
  auto entry = config::LookUpUser(user);
  if (caller != 0 && (!entry || entry->uid != caller)) {
    return pam::Decide(Outcome::kUnavailable, "uid " + std::to_string(caller) + " asked for " +
                                                  user + ": only its own user may be asked for");
  }
  if (!entry) return pam::Decide(Outcome::kUserUnknown, entry.error().message);
  auto options = config::SystemOptions();
  if (!options) {
    return pam::Decide(Outcome::kUnavailable, options.error().message + "; refusing to authenticate");
  }
  SyslogLogger log(options->debug);
  SocketInterface socket;
  FailureDelay delay(options->state, entry->uid);
  DelayedInterface ui(socket, delay);
  const std::string prompt = options->prompt.value_or("PIN for %s: ");
  pam::Environment env{
      ui,
      log,
      [&](webauthn::UserInterface& attempt_ui) -> pam::AuthenticatorResult {
        auto opened = tpm::PlatformAuthenticator::Open(options->tcti, options->store, attempt_ui,
                                                      prompt);
        if (!opened) return opened.error();
        return std::unique_ptr<webauthn::Authenticator>(
            std::make_unique<DelayedAuthenticator>(std::move(*opened), delay, ui));
      },
      [&](webauthn::ByteView id) { return tpm::PlatformAuthenticator::HasKey(options->store, id); },
      std::nullopt,
      [&](webauthn::ByteView id) { return tpm::PlatformAuthenticator::EnrolledUser(options->store, id); },
      [&](webauthn::UserInterface& attempt_ui) -> pam::AuthenticatorResult {
        fido2::Fido2Settings settings;
        settings.timeout_ms = fido2::TouchTimeoutMs(options->timeout_seconds);
        return std::unique_ptr<webauthn::Authenticator>(std::make_unique<DelayedAuthenticator>(
            fido2::NewSystemAuthenticator(attempt_ui, std::move(settings)), delay, ui));
      },
  };
  Decision decision = pam::Authenticate(*options, user, env);
  if (decision.outcome == Outcome::kSuccess) {
    log.Log(pam::LogLevel::kInfo, "authenticated " + user + " for uid " + std::to_string(caller));
  }
  return decision;
}

}  // namespace
}  // namespace tpmauthn::helper

int main(int argc, char** argv) {
  using namespace tpmauthn;
  // Before anything can read it: nothing of the caller's environment reaches
  // tpm2-tss (TSS2_LOG, TSS2_LOGFILE, TCTI_PCAP_FILE), OpenSSL or glibc.
  ::clearenv();
  const bool descriptors_ok = helper::SanitizeDescriptors();
  ::umask(077);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::signal(SIGPIPE, SIG_IGN);
  ::openlog("tpmauthn-helper", LOG_PID, LOG_AUTHPRIV);
  if (argc != 1 || !argv || !argv[0] || !argv[0][0]) {
    // Run by hand, or with argc 0 (argv[1] would be the environment; Linux
    // 5.18 and later pass {""} instead).
    ::syslog(LOG_ERR, "refused: started with %d arguments (pam_tpmauthn.so passes none)", argc);
    if (argc > 1) {
      static const char kUsage[] = "tpmauthn-helper: run by pam_tpmauthn.so, not by hand\n";
      (void)!::write(2, kUsage, sizeof(kUsage) - 1);
    }
    return 2;
  }
  pam::Decision decision;
  if (!descriptors_ok) {
    decision = pam::Decide(pam::Outcome::kUnavailable, "cannot set up its file descriptors");
  } else if (::geteuid() != 0) {
    decision = pam::Decide(pam::Outcome::kUnavailable,
                           "not running as root (is it installed setuid root, on a file system "
                           "mounted without nosuid, and started without no_new_privs?)");
  } else {
    try {
      decision = helper::Serve();
    } catch (const std::exception& e) {
      decision = pam::Decide(pam::Outcome::kUnavailable, std::string("internal error: ") + e.what());
    } catch (...) {
      decision = pam::Decide(pam::Outcome::kUnavailable, "internal error");
    }
  }
  if (decision.outcome != pam::Outcome::kSuccess) {
    ::syslog(decision.outcome == pam::Outcome::kUnavailable ? LOG_ERR : LOG_NOTICE,
             "uid %u: %s", static_cast<unsigned>(::getuid()), decision.reason.c_str());
  }
  helper::SendResult(decision.outcome);
  return decision.outcome == pam::Outcome::kSuccess ? 0 : 1;
}
