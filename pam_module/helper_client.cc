// Running tpmauthn-helper for a PAM caller that is not root (helper_client.h).
#include "pam_module/helper_client.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/safe_file.h"
#include "pam_module/helper_protocol.h"

namespace tpmauthn::pam {

const char kDefaultHelper[] = TPMAUTHN_HELPER_PATH;

namespace {

using helper::Direction;
using helper::FrameType;

Decision Unavailable(const std::string& path, const std::string& why) {
  return Decide(Outcome::kUnavailable, "helper " + path + ": " + why);
}

// Starts the helper with `child_end` as its standard input.
std::optional<pid_t> Spawn(const std::string& path, int child_end, std::string& error) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  if (posix_spawn_file_actions_init(&actions) != 0) return std::nullopt;
  if (posix_spawnattr_init(&attributes) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return std::nullopt;
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  int rc = posix_spawn_file_actions_adddup2(&actions, child_end, 0);
  if (rc == 0) rc = posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // The caller's signal mask and ignored signals (a locker's SIGPIPE or
  // SIGCHLD) are not the helper's.
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &all);
  if (rc == 0) rc = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  if (rc == 0) {
    char* argv[] = {const_cast<char*>("tpmauthn-helper"), nullptr};
    char* envp[] = {nullptr};
    rc = posix_spawn(&pid, path.c_str(), &actions, &attributes, argv, envp);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    error = std::strerror(rc);
    return std::nullopt;
  }
  return pid;
}

// Reaps the helper. ECHILD is normal where the caller ignores SIGCHLD; the
// outcome never depends on this.
void Reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Relays frames until the helper's result.
Decision Converse(const std::string& path, int fd, webauthn::UserInterface& ui) {
  for (;;) {
    auto frame = helper::ReadFrame(fd, Direction::kToModule, kHelperReplyTimeoutMs);
    if (!frame) return Unavailable(path, frame.error().message);
    const std::string text(webauthn::AsString(frame->payload.bytes()));
    switch (frame->type) {
      case FrameType::kInfo:
        ui.Info(text);
        break;
      case FrameType::kError:
        ui.Error(text);
        break;
      case FrameType::kPromptSecret: {
        std::optional<webauthn::SecretBytes> answer = ui.AskSecret(text);
        auto sent = answer && answer->size() <= helper::kMaxAnswer
                        ? helper::WriteFrame(fd, FrameType::kAnswer, answer->bytes())
                        : helper::WriteFrame(fd, FrameType::kNoAnswer, {});
        if (!sent) return Unavailable(path, sent.error().message);
        break;
      }
      case FrameType::kPromptText: {
        std::optional<std::string> answer = ui.AskText(text);
        auto sent = answer && answer->size() <= helper::kMaxAnswer
                        ? helper::WriteFrame(fd, FrameType::kAnswer, webauthn::AsBytes(*answer))
                        : helper::WriteFrame(fd, FrameType::kNoAnswer, {});
        if (!sent) return Unavailable(path, sent.error().message);
        break;
      }
      case FrameType::kResult: {
        const auto outcome = static_cast<Outcome>(helper::ResultCode(*frame));
        return Decide(outcome, "the helper's outcome (its own log line says why)");
      }
      case FrameType::kRequest:
      case FrameType::kAnswer:
      case FrameType::kNoAnswer:
        return Unavailable(path, "unexpected frame");  // ReadFrame refuses these already
    }
  }
}

}  // namespace

Decision RunHelper(const std::string& path, const std::string& user, webauthn::UserInterface& ui) {
  if (user.size() > helper::kMaxUserName) return Unavailable(path, "user name too long");
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
    return Unavailable(path, "socketpair: " + config::ErrnoMessage(errno));
  }
  config::UniqueFd mine(ends[0]), theirs(ends[1]);
  std::string error;
  std::optional<pid_t> pid = Spawn(path, theirs.get(), error);
  theirs = config::UniqueFd();
  if (!pid) return Unavailable(path, "cannot run it: " + error);
  Decision decision;
  if (auto sent = helper::WriteFrame(mine.get(), FrameType::kRequest,
                                     helper::RequestPayload(user));
      !sent) {
    decision = Unavailable(path, sent.error().message);
  } else {
    decision = Converse(path, mine.get(), ui);
  }
  // Closing our end ends a helper still waiting for us.
  mine = config::UniqueFd();
  Reap(*pid);
  return decision;
}

}  // namespace tpmauthn::pam
