// The authenticator interface the relying party talks to: a TPM (tpm/), a
// client's authenticator over the PAM conversation (remote), or a roaming
// FIDO2 key. Implementations answer getAssertion with WebAuthn bytes; they
// never decide whether the user is authenticated.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "webauthn/bytes.h"
#include "webauthn/result.h"
#include "webauthn/secret.h"

namespace tpmauthn::webauthn {

enum class AuthenticatorErrorKind {
  kUnavailable,  // the device is not there or not working
  kLockout,      // the device refuses all tries for now (TPM DA lockout)
  kWrongPin,     // user verification failed; tries_left may say how often more
  kPinBlocked,   // this credential's PIN is blocked until an administrator resets it
  kNotFound,     // none of the allowed credentials lives on this authenticator
  kCancelled,    // the user gave no PIN / the conversation failed
  kRefused,      // anything else the authenticator declined (policy, wrong RP)
};

struct AuthenticatorError {
  AuthenticatorErrorKind kind = AuthenticatorErrorKind::kUnavailable;
  std::string message;
  std::optional<uint32_t> tries_left;
  std::optional<uint32_t> recovery_seconds;
  // tries_left counts this credential's own PIN tries (a per-credential PIN
  // or a FIDO2 key's), not a whole TPM's dictionary-attack budget.
  bool per_credential_pin = false;
  // What to tell the user instead of the relying party's default words for
  // `kind` (a security key's PIN is reset on the key, not by an admin).
  std::string user_message;
};

// The prompt for a roaming key's own PIN. Never answered from PAM_AUTHTOK
// (try_first_pass/use_first_pass): that is usually the login password, and
// each wrong try spends one of the key's few PIN tries.
inline constexpr char kSecurityKeyPinPrompt[] = "PIN for your security key: ";

struct GetAssertionOptions {
  std::string rp_id;
  Bytes challenge;         // the RP's challenge (remote authenticators build their own client data)
  Bytes client_data_hash;  // SHA-256 of the RP's clientDataJSON for local authenticators
  std::vector<Bytes> allow_credentials;  // in order of preference
  bool require_user_verification = true;
  // Per allowed credential (same order; may be empty): its own line asks for
  // UV (uv=pin) even when the request does not.
  std::vector<bool> credential_requires_uv;
  // The RP's clientDataJSON itself, for authenticators whose library hashes
  // it (libfido2's fido_assert_set_clientdata); its SHA-256 is client_data_hash.
  Bytes client_data_json;
  // When the relying party stops waiting (timeout=); an authenticator that
  // waits for a touch waits at most until then.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct AssertionOutput {
  Bytes credential_id;
  Bytes authenticator_data;
  Bytes signature;
  std::optional<Bytes> user_handle;
  // Set by authenticators whose client built its own clientDataJSON (remote
  // mode: the user's machine, with the origin it connected to). The relying
  // party verifies it like any other.
  std::optional<Bytes> client_data_json;
};

// How an authenticator talks to the person in front of it.
class UserInterface {
 public:
  virtual ~UserInterface() = default;
  // Asks for a PIN without echo. nullopt: no answer (treated as a failure).
  virtual std::optional<SecretBytes> AskSecret(const std::string& prompt) = 0;
  // Asks for a non-secret answer with echo on (a remote authenticator's reply).
  virtual std::optional<std::string> AskText(const std::string& prompt) = 0;
  virtual void Info(const std::string& message) = 0;
  virtual void Error(const std::string& message) = 0;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual Result<AssertionOutput, AuthenticatorError> GetAssertion(
      const GetAssertionOptions& options) = 0;
};

}  // namespace tpmauthn::webauthn
