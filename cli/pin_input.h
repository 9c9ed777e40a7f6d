// Reading a PIN: from the terminal without echo (asked twice when enrolling),
// or one line from a file descriptor for scripts (--pin-fd N). Never from argv
// or the environment. The PIN lives only in a SecretBytes.
#pragma once

#include <optional>
#include <string>

#include "webauthn/secret.h"

namespace tpmauthn::cli {

inline constexpr size_t kMinPinLength = 4;
inline constexpr size_t kMaxPinLength = 128;

struct PinResult {
  bool ok = false;
  std::string error;
  webauthn::SecretBytes pin;
};

// Shows `prompt` on /dev/tty and reads one line from it, with echo off unless
// `echo`, as readpassphrase(3) does: echo goes off before the prompt is shown,
// nothing typed after it is discarded, and a signal (Ctrl-C, ^Z, a hangup)
// restores the terminal before it takes effect; after a stop the prompt is
// shown again. False if there is no terminal or reading fails.
bool ReadTerminalLine(const std::string& prompt, bool echo, webauthn::SecretBytes& out);

// `fd` set: one line from it (no confirmation). Else /dev/tty with echo off,
// `confirm` asks a second time and requires the same PIN. Enforces the length
// bounds when `enrolling`.
PinResult ReadPin(std::optional<int> fd, const std::string& prompt, bool confirm, bool enrolling);

}  // namespace tpmauthn::cli
