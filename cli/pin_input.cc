// PIN entry without echo, or from a descriptor.
#include "cli/pin_input.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iterator>

namespace tpmauthn::cli {
namespace {

// The signals readpassphrase(3) guards against: if one arrives while echo is
// off, the terminal is restored first, then the signal is raised again.
constexpr int kGuardedSignals[] = {SIGALRM, SIGHUP,  SIGINT,  SIGPIPE, SIGQUIT,
                                   SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU};
volatile sig_atomic_t g_caught[NSIG];

void Catch(int signal_number) { g_caught[signal_number] = 1; }

bool AnyCaught() {
  for (int s : kGuardedSignals) {
    if (g_caught[s]) return true;
  }
  return false;
}

// Reads bytes up to '\n' or EOF; false on read errors or overlong input.
// With `unblocked` (the signal mask to wait with; the guarded signals are
// blocked otherwise), a guarded signal ends the read too: ppoll unblocks
// them only while waiting, so none can slip in between the check and the
// wait and leave the read blocked.
bool ReadLine(int fd, webauthn::SecretBytes& out, const sigset_t* unblocked = nullptr) {
  for (;;) {
    if (unblocked) {
      if (AnyCaught()) return false;
      pollfd wait{fd, POLLIN, 0};
      if (::ppoll(&wait, 1, nullptr, unblocked) < 0) {
        if (errno == EINTR) continue;
        return false;
      }
    }
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0 || c == '\n') return true;
    if (c == '\r') continue;
    if (out.size() >= kMaxPinLength) return false;
    out.Append(static_cast<uint8_t>(c));
  }
}

// One prompt on the terminal `tty`, as readpassphrase(3) does it: echo off
// *before* the prompt is shown (so nothing typed after it is echoed or
// thrown away), the line read, the terminal restored without flushing (what
// was typed after the line stays for the next reader); a signal meanwhile
// restores the terminal and is raised again, and after a stop (^Z) and
// SIGCONT the prompt is shown again.
bool ReadFromTty(int tty, const std::string& prompt, bool echo, webauthn::SecretBytes& out) {
  for (;;) {
    sigset_t guarded, original, unblocked;
    sigemptyset(&guarded);
    for (int s : kGuardedSignals) sigaddset(&guarded, s);
    ::sigprocmask(SIG_BLOCK, &guarded, &original);
    unblocked = original;
    for (int s : kGuardedSignals) sigdelset(&unblocked, s);
    struct sigaction catcher {};
    catcher.sa_handler = Catch;
    sigemptyset(&catcher.sa_mask);
    struct sigaction saved_actions[std::size(kGuardedSignals)];
    for (size_t i = 0; i < std::size(kGuardedSignals); ++i) {
      g_caught[kGuardedSignals[i]] = 0;
      ::sigaction(kGuardedSignals[i], &catcher, &saved_actions[i]);
    }
    termios saved{};
    const bool restore = !echo && ::tcgetattr(tty, &saved) == 0;
    if (restore) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      quiet.c_lflag |= ECHONL;
      // The prompt is not shown yet: flushing drops only what was typed
      // before it.
      ::tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    bool ok = !prompt.empty() ? ::write(tty, prompt.data(), prompt.size()) >= 0 : true;
    ok = ok && ReadLine(tty, out, &unblocked);
    if (restore) ::tcsetattr(tty, TCSANOW, &saved);
    // Signals that came while blocked reach Catch here, then the caller's
    // dispositions come back.
    ::sigprocmask(SIG_SETMASK, &original, nullptr);
    for (size_t i = 0; i < std::size(kGuardedSignals); ++i) {
      ::sigaction(kGuardedSignals[i], &saved_actions[i], nullptr);
    }
    bool stopped = false;
    for (int s : kGuardedSignals) {
      if (!g_caught[s]) continue;
      ::kill(::getpid(), s);  // with the caller's disposition back in place
      stopped = stopped || s == SIGTSTP || s == SIGTTIN || s == SIGTTOU;
    }
    if (stopped && !ok) {
      out.Wipe();
      if (::write(tty, "\n", 1) < 0) return false;
      continue;  // continued after a stop: ask again
    }
    return ok;
  }
}

}  // namespace

bool ReadTerminalLine(const std::string& prompt, bool echo, webauthn::SecretBytes& out) {
  int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) return false;
  bool ok = ReadFromTty(tty, prompt, echo, out);
  ::close(tty);
  return ok;
}

PinResult ReadPin(std::optional<int> fd, const std::string& prompt, bool confirm, bool enrolling) {
  PinResult result;
  if (fd) {
    if (!ReadLine(*fd, result.pin)) {
      result.error = "cannot read the PIN from descriptor " + std::to_string(*fd);
      return result;
    }
  } else {
    int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0) {
      result.error = "no terminal to ask for the PIN (use --pin-fd N in scripts)";
      return result;
    }
    bool ok = ReadFromTty(tty, prompt, false, result.pin);
    if (ok && confirm) {
      webauthn::SecretBytes again;
      ok = ReadFromTty(tty, "Repeat the PIN: ", false, again);
      if (ok && !again.Equals(result.pin)) {
        ::close(tty);
        result.pin.Wipe();
        result.error = "the two PINs differ";
        return result;
      }
    }
    ::close(tty);
    if (!ok) {
      result.pin.Wipe();
      result.error = "cannot read the PIN from the terminal";
      return result;
    }
  }
  if (result.pin.empty()) {
    result.error = "empty PIN";
    return result;
  }
  if (enrolling && result.pin.size() < kMinPinLength) {
    result.pin.Wipe();
    result.error = "the PIN must have at least " + std::to_string(kMinPinLength) + " characters";
    return result;
  }
  result.ok = true;
  return result;
}

}  // namespace tpmauthn::cli
