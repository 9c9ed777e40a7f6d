// Small things every command file needs: the usage-error line and random bytes.
#pragma once

#include <openssl/rand.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "cli/exit_codes.h"
#include "config/credential.h"
#include "webauthn/bytes.h"

namespace tpmauthn::cli {

// "tpmauthn: COMMAND: WHY" on stderr; exit code 2.
inline int Usage(std::ostream& err, const char* command, const std::string& why) {
  err << "tpmauthn: " << command << ": " << why << "\n";
  return kExitUsage;
}

// The whole of `path`, or of stdin for "-" (a document someone handed us:
// no ownership rules); nullopt with `error` set when it cannot be read or
// is longer than `limit` bytes.
inline std::optional<std::string> ReadInput(const std::string& path, std::string& error,
                                            size_t limit = SIZE_MAX) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = "cannot open " + path;
      return std::nullopt;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (text.size() > limit) {
    error = path + ": too large";
    return std::nullopt;
  }
  return text;
}

// From OpenSSL's CSPRNG (challenges, user handles).
inline webauthn::Bytes RandomBytes(size_t n) {
  webauthn::Bytes out(n);
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes");
  return out;
}

// The credentials-file line of a credential enrollment just made and verified.
inline config::Credential EnrolledLine(const std::string& user, const webauthn::Bytes& id,
                                       const webauthn::CoseKey& key, config::AuthenticatorKind kind,
                                       bool require_uv, const std::string& rp_id,
                                       const std::string& origin, const std::string& label) {
  config::Credential line;
  line.user = user;
  line.id = id;
  line.algorithm = key.algorithm();
  line.public_key = key.encoded();
  line.kind = kind;
  line.require_uv = require_uv;
  line.rp_id = rp_id;
  line.origin = origin;
  line.created = config::TodayUtc();
  line.label = label;
  return line;
}

}  // namespace tpmauthn::cli
