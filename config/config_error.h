// Errors of the configuration layer: one human-readable message that names the
// file (and line) and what is wrong, e.g. "/etc/tpmauthn/credentials:7: bad alg".
#pragma once

#include <string>

#include "webauthn/result.h"

namespace tpmauthn::config {

struct ConfigError {
  std::string message;
  // A replaced file's new contents are in place, but making them durable
  // (close, directory fsync) failed: callers must not undo what depends on it.
  bool committed = false;
};

template <typename T>
using ConfigResult = webauthn::Result<T, ConfigError>;

inline ConfigError ConfigFail(std::string message) { return ConfigError{std::move(message)}; }

}  // namespace tpmauthn::config
