// Result<T>: a value or an Error that names the failed WebAuthn check.
// Parsers and verifiers in tpmauthn never throw; they return one of these.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tpmauthn::webauthn {

// The check that failed. Names follow WebAuthn L3 §7.1/§7.2 where the spec has
// a step for it; `ToString` gives the stable name printed in verdicts.
enum class Check {
  kResponse,              // response JSON shape (id, rawId, type, members)
  kEncoding,              // base64url or other transport encoding
  kClientData,            // clientDataJSON could not be parsed
  kType,                  // C.type
  kChallenge,             // C.challenge
  kOrigin,                // C.origin
  kCrossOrigin,           // C.crossOrigin
  kTopOrigin,             // C.topOrigin
  kAuthenticatorData,     // authenticatorData could not be parsed
  kAttestationObject,     // attestationObject could not be parsed
  kAttestationStatement,  // attStmt failed its format's verification procedure
  kPublicKey,             // credential public key (COSE_Key) invalid
  kRpIdHash,              // authData.rpIdHash
  kUserPresent,           // UP flag
  kUserVerified,          // UV flag under the UV policy
  kBackupState,           // BE/BS consistency
  kAlgorithm,             // credential algorithm not allowed
  kSignature,             // assertion signature
  kCredentialId,          // credential id mismatch / too long
  kUserHandle,            // userHandle mismatch
  kSignCount,             // sign counter regression
};

std::string_view ToString(Check check);
std::ostream& operator<<(std::ostream& os, Check check);

struct Error {
  Check check;
  std::string message;  // human readable: "rpIdHash mismatch"
};

// A value of T or an error of E (by default a WebAuthn check failure).
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(E error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const { return error_; }

 private:
  E error_{};
  bool ok_ = true;
};

inline Error Fail(Check check, std::string message) {
  return Error{check, std::move(message)};
}

}  // namespace tpmauthn::webauthn
