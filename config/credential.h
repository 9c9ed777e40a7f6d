// One enrolled credential and its line in a credentials file; the grammar is
// documented in tpmauthn-credentials(5) and docs/credentials.md.
//
//   USER  CREDENTIAL-ID  ALG  PUBLIC-KEY  KIND  ATTRIBUTES  CREATED  [LABEL...]
//
//   alice  pPLB...Qw  es256  pQECAyYg...  tpm  uv=pin,rp=pam://host  2026-11-29  Alice's laptop
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config_error.h"
#include "webauthn/bytes.h"
#include "webauthn/cose_key.h"

namespace tpmauthn::config {

enum class AuthenticatorKind { kTpm, kFido2, kRemote };

std::string_view ToString(AuthenticatorKind kind);

inline constexpr size_t kMaxLineLength = 16 * 1024;
inline constexpr size_t kMaxUserLength = 256;
inline constexpr size_t kMaxLabelLength = 256;

struct Credential {
  std::string user;
  webauthn::Bytes id;  // empty for a discoverable credential imported as "*"
  webauthn::CoseAlgorithm algorithm = webauthn::CoseAlgorithm::kES256;
  webauthn::Bytes public_key;  // COSE_Key, validated and matching `algorithm`
  AuthenticatorKind kind = AuthenticatorKind::kTpm;
  bool require_uv = true;             // uv=pin (true) or uv=none
  std::optional<std::string> rp_id;   // rp=...: the RP ID it was made for
  std::optional<std::string> origin;  // origin=...
  std::string created;                // YYYY-MM-DD
  std::string label;                  // free text, may be empty
};

// The fields of a line, checked for syntax only (cheap: no base64 decoding, no
// key parsing). Views point into the line.
struct LineFields {
  std::string_view user, id, alg, key, kind, attributes, created, label;
};

enum class LineType { kBlank, kComment, kCredential };

// Classifies and syntax-checks a line (without its newline): field count, user
// name, canonical base64url shapes and lengths, algorithm, kind, attributes,
// date, label. Only the key's contents are left to ParseFields. Errors name the
// field.
ConfigResult<LineType> ScanLine(std::string_view line, LineFields& fields);

// Full validation of a scanned credential line: base64url, key parses as a
// COSE_Key of the named algorithm, attributes, date.
ConfigResult<Credential> ParseFields(const LineFields& fields);

// ScanLine + ParseFields; blank and comment lines are errors here.
ConfigResult<Credential> ParseCredentialLine(std::string_view line);

// The canonical line for `credential` (no newline). ParseCredentialLine of the
// result gives the credential back.
std::string FormatCredentialLine(const Credential& credential);

// Today's date in UTC as YYYY-MM-DD.
std::string TodayUtc();

}  // namespace tpmauthn::config
