// PIN entry without echo, or from a descriptor.
#include "cli/pin_input.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace tpmauthn::cli {
namespace {

// Reads bytes up to '\n' or EOF; false on read errors or overlong input.
bool ReadLine(int fd, webauthn::SecretBytes& out) {
  for (;;) {
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

bool ReadFromTty(int tty, const std::string& prompt, bool echo, webauthn::SecretBytes& out) {
  if (::write(tty, prompt.data(), prompt.size()) < 0) return false;
  termios saved{};
  bool restore = !echo && ::tcgetattr(tty, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  bool ok = ReadLine(tty, out);
  if (restore) ::tcsetattr(tty, TCSAFLUSH, &saved);
  return ok;
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
