// Errors of the attestation CA: one message saying what was refused and why.
#pragma once

#include <string>

#include "webauthn/result.h"

namespace tpmauthn::attestation_ca {

struct CaError {
  std::string message;
};

template <typename T>
using CaResult = webauthn::Result<T, CaError>;

inline CaError CaFail(std::string message) { return CaError{std::move(message)}; }

}  // namespace tpmauthn::attestation_ca
