// Small things every command file needs: the usage-error line and random bytes.
#pragma once

#include <openssl/rand.h>

#include <ostream>
#include <stdexcept>
#include <string>

#include "cli/exit_codes.h"
#include "webauthn/bytes.h"

namespace tpmauthn::cli {

// "tpmauthn: COMMAND: WHY" on stderr; exit code 2.
inline int Usage(std::ostream& err, const char* command, const std::string& why) {
  err << "tpmauthn: " << command << ": " << why << "\n";
  return kExitUsage;
}

// From OpenSSL's CSPRNG (challenges, user handles).
inline webauthn::Bytes RandomBytes(size_t n) {
  webauthn::Bytes out(n);
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes");
  return out;
}

}  // namespace tpmauthn::cli
