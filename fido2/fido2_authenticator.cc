// Roaming FIDO2 keys through libfido2: probe silently, then one touch.
#include "fido2/fido2_authenticator.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "webauthn/cbor.h"

namespace tpmauthn::fido2 {
namespace {

using webauthn::AuthenticatorError;
using webauthn::AuthenticatorErrorKind;
using webauthn::Bytes;
using webauthn::ByteView;

struct AssertDeleter {
  void operator()(fido_assert_t* a) const { fido_assert_free(&a); }
};
using Assert = std::unique_ptr<fido_assert_t, AssertDeleter>;

AuthenticatorError Fail(AuthenticatorErrorKind kind, std::string message,
                        std::string user_message = {}) {
  AuthenticatorError e{kind, std::move(message), std::nullopt, std::nullopt, false, {}};
  e.user_message = std::move(user_message);
  return e;
}

// A request for `allow` on `rp_id` over `client_data_json`.
webauthn::Result<Assert, AuthenticatorError> NewAssert(const webauthn::GetAssertionOptions& options,
                                                       const std::vector<Bytes>& allow) {
  Assert a(fido_assert_new());
  if (!a) return Fail(AuthenticatorErrorKind::kUnavailable, "out of memory");
  int r = fido_assert_set_rp(a.get(), options.rp_id.c_str());
  if (r == FIDO_OK) {
    r = fido_assert_set_clientdata(a.get(), options.client_data_json.data(),
                                   options.client_data_json.size());
  }
  for (const Bytes& id : allow) {
    if (r == FIDO_OK) r = fido_assert_allow_cred(a.get(), id.data(), id.size());
  }
  if (r != FIDO_OK) {
    return Fail(AuthenticatorErrorKind::kRefused, FidoError("building the request", r));
  }
  return a;
}

// Which allowed credential `dev` holds: nullopt if none. Silent: up=false
// and no PIN, so the key neither waits for a touch nor counts a PIN try. One
// credential per request, as pam-u2f asks: keys take only a few ids per allow
// list (8 on a YubiKey 5; libfido2 1.12 does not split longer lists), and a
// user may have many. A U2F-only key answers a held credential with "user
// presence required" (libfido2's check-only authenticate).
webauthn::Result<std::optional<Bytes>, AuthenticatorError> Probe(
    fido_dev_t* dev, const webauthn::GetAssertionOptions& options) {
  for (const Bytes& id : options.allow_credentials) {
    auto a = NewAssert(options, {id});
    if (!a) return a.error();
    int r = fido_assert_set_up(a->get(), FIDO_OPT_FALSE);
    if (r == FIDO_OK) r = fido_dev_get_assert(dev, a->get(), nullptr);
    if (r == FIDO_ERR_NO_CREDENTIALS) continue;
    if (r == FIDO_OK || (r == FIDO_ERR_USER_PRESENCE_REQUIRED && !fido_dev_is_fido2(dev))) {
      return std::optional<Bytes>(id);
    }
    return Fail(AuthenticatorErrorKind::kUnavailable, FidoError("asking the key", r));
  }
  return std::optional<Bytes>();
}

bool RequiresUv(const webauthn::GetAssertionOptions& options, const Bytes& id) {
  if (options.require_user_verification) return true;
  for (size_t i = 0; i < options.allow_credentials.size(); ++i) {
    if (options.allow_credentials[i] == id) {
      return i < options.credential_requires_uv.size() && options.credential_requires_uv[i];
    }
  }
  return true;  // not one of ours: the strict answer
}

AuthenticatorError FromDeviceError(fido_dev_t* dev, int r, int timeout_ms) {
  switch (r) {
    case FIDO_ERR_PIN_INVALID: {
      AuthenticatorError e = Fail(AuthenticatorErrorKind::kWrongPin, "wrong security key PIN");
      e.per_credential_pin = true;
      int retries = -1;
      if (fido_dev_get_retry_count(dev, &retries) == FIDO_OK && retries >= 0) {
        e.tries_left = static_cast<uint32_t>(retries);
        if (retries == 0) {
          e.user_message = "Wrong PIN. The security key's PIN is now blocked: reset the key "
                           "(this erases its credentials) and enroll it again.";
        }
      }
      return e;
    }
    case FIDO_ERR_PIN_BLOCKED:
      return Fail(AuthenticatorErrorKind::kPinBlocked, FidoError("the security key", r),
                  "The security key's PIN is blocked: reset the key (this erases its "
                  "credentials) and enroll it again.");
    case FIDO_ERR_PIN_AUTH_BLOCKED:
      return Fail(AuthenticatorErrorKind::kLockout, FidoError("the security key", r),
                  "Too many wrong PINs: unplug the security key and plug it in again.");
    case FIDO_ERR_UV_INVALID: {
      AuthenticatorError e = Fail(AuthenticatorErrorKind::kWrongPin,
                                  "the security key did not recognize you (built-in UV)");
      e.per_credential_pin = true;
      return e;
    }
    case FIDO_ERR_UV_BLOCKED:
      return Fail(AuthenticatorErrorKind::kPinBlocked, FidoError("the security key", r),
                  "The security key's built-in verification is blocked: use its PIN, or "
                  "unplug it and plug it in again.");
    case FIDO_ERR_PIN_NOT_SET:
      return Fail(AuthenticatorErrorKind::kRefused, FidoError("the security key", r),
                  "The security key has no PIN; set one (fido2-token -S) to use it here.");
    case FIDO_ERR_NO_CREDENTIALS:
      return Fail(AuthenticatorErrorKind::kNotFound, FidoError("the security key", r));
    case FIDO_ERR_CREDENTIAL_EXCLUDED:
      return Fail(AuthenticatorErrorKind::kRefused,
                  "the security key already holds a credential of this user's for this RP ID");
    case FIDO_ERR_OPERATION_DENIED:
    case FIDO_ERR_KEEPALIVE_CANCEL:
      return Fail(AuthenticatorErrorKind::kCancelled, FidoError("the security key", r));
    case FIDO_ERR_USER_ACTION_TIMEOUT:
    case FIDO_ERR_ACTION_TIMEOUT:
    case FIDO_ERR_RX:
      // No touch in time (libfido2 reports its own timeout as FIDO_ERR_RX,
      // as it does a key pulled out): tell the key to stop waiting, so it
      // does not sign for a later touch.
      fido_dev_cancel(dev);
      return Fail(AuthenticatorErrorKind::kCancelled,
                  "no touch within " + std::to_string(timeout_ms) + " ms, or the key was "
                  "unplugged (" + FidoError("the security key", r) + ")",
                  "The security key was not touched in time.");
    default:
      return Fail(AuthenticatorErrorKind::kUnavailable, FidoError("the security key", r));
  }
}

// The NUL-terminated copy libfido2 wants, wiped with the SecretBytes.
std::optional<webauthn::SecretBytes> PinString(const webauthn::SecretBytes& pin) {
  webauthn::SecretBytes out;
  for (uint8_t b : pin.bytes()) {
    if (b == 0) return std::nullopt;
    out.Append(b);
  }
  out.Append(0);
  return out;
}

struct CredDeleter {
  void operator()(fido_cred_t* c) const { fido_cred_free(&c); }
};
using Cred = std::unique_ptr<fido_cred_t, CredDeleter>;

// What user verification needs on `dev`: its PIN (asked now), or its built-in
// UV; nullopt PIN and no error when neither is needed.
webauthn::Result<std::optional<webauthn::SecretBytes>, AuthenticatorError> UserVerification(
    fido_dev_t* dev, bool required, bool pin_if_set, webauthn::UserInterface& ui,
    const Fido2Settings& settings, const std::function<int()>& set_uv) {
  if (fido_dev_has_pin(dev) && (required || pin_if_set)) {
    auto typed = ui.AskSecret(settings.pin_prompt);
    if (!typed || typed->empty()) {
      return Fail(AuthenticatorErrorKind::kCancelled, "no PIN given for the security key");
    }
    auto pin = PinString(*typed);
    if (!pin) return Fail(AuthenticatorErrorKind::kWrongPin, "the PIN holds a NUL byte");
    return std::optional<webauthn::SecretBytes>(std::move(*pin));
  }
  if (!required) return std::optional<webauthn::SecretBytes>();
  if (!fido_dev_is_fido2(dev)) {
    return Fail(AuthenticatorErrorKind::kRefused,
                "user verification is required and the key is U2F-only (touch only)",
                "This security key can only be touched, not verify you: its credential needs "
                "uv=none and the module uv=discouraged.");
  }
  if (fido_dev_has_uv(dev)) {
    if (int r = set_uv(); r != FIDO_OK) {
      return Fail(AuthenticatorErrorKind::kRefused, FidoError("asking for UV", r));
    }
    return std::optional<webauthn::SecretBytes>();
  }
  return Fail(AuthenticatorErrorKind::kRefused,
              "user verification is required and the security key has no PIN",
              "The security key has no PIN; set one (fido2-token -S) to use it here.");
}

const char* PinPointer(const std::optional<webauthn::SecretBytes>& pin) {
  return pin ? reinterpret_cast<const char*>(pin->bytes().data()) : nullptr;
}

}  // namespace

webauthn::Result<Fido2Enrollment, AuthenticatorError> Enroll(DeviceSource& devices,
                                                             webauthn::UserInterface& ui,
                                                             const Fido2Settings& settings,
                                                             const Fido2EnrollRequest& request) {
  std::string path = request.device_path;
  if (path.empty()) {
    auto paths = devices.List(kMaxDevices);
    if (!paths) return Fail(AuthenticatorErrorKind::kUnavailable, paths.error());
    if (paths->empty()) {
      return Fail(AuthenticatorErrorKind::kUnavailable, "no security key is plugged in");
    }
    if (paths->size() > 1) {
      std::string names;
      for (const std::string& p : *paths) names += (names.empty() ? "" : ", ") + p;
      return Fail(AuthenticatorErrorKind::kRefused,
                  std::to_string(paths->size()) + " security keys are plugged in (" + names +
                      "): name one with --device");
    }
    path = paths->front();
  }
  auto dev = devices.Open(path, settings.timeout_ms);
  if (!dev) return Fail(AuthenticatorErrorKind::kUnavailable, dev.error());
  if (!fido_dev_is_fido2(dev->get())) {
    // Its fido-u2f attestation is not among the formats verified here, and
    // it cannot verify the user: enroll it with pamu2fcfg and import-u2f.
    return Fail(AuthenticatorErrorKind::kRefused,
                path + " is a U2F-only key: enroll it with pamu2fcfg and "
                       "`tpmauthn import-u2f` (it logs in with a touch, uv=discouraged)");
  }

  Cred cred(fido_cred_new());
  if (!cred) return Fail(AuthenticatorErrorKind::kUnavailable, "out of memory");
  int r = fido_cred_set_type(cred.get(), COSE_ES256);
  if (r == FIDO_OK) {
    r = fido_cred_set_clientdata(cred.get(), request.client_data_json.data(),
                                 request.client_data_json.size());
  }
  if (r == FIDO_OK) r = fido_cred_set_rp(cred.get(), request.rp_id.c_str(), request.rp_id.c_str());
  if (r == FIDO_OK) {
    r = fido_cred_set_user(cred.get(), request.user_handle.data(), request.user_handle.size(),
                           request.user_name.c_str(), request.user_name.c_str(), nullptr);
  }
  if (r == FIDO_OK && request.resident) r = fido_cred_set_rk(cred.get(), FIDO_OPT_TRUE);
  for (const Bytes& id : request.exclude) {
    if (r == FIDO_OK) r = fido_cred_exclude(cred.get(), id.data(), id.size());
  }
  if (r != FIDO_OK) {
    return Fail(AuthenticatorErrorKind::kRefused, FidoError("building the request", r));
  }
  auto pin = UserVerification(dev->get(), request.uv, /*pin_if_set=*/true, ui, settings,
                              [&] { return fido_cred_set_uv(cred.get(), FIDO_OPT_TRUE); });
  if (!pin) return pin.error();
  ui.Info(settings.touch_cue);
  r = fido_dev_make_cred(dev->get(), cred.get(), PinPointer(*pin));
  pin->reset();
  if (r != FIDO_OK) return FromDeviceError(dev->get(), r, settings.timeout_ms);

  // The attestation object a browser would hand over (WebAuthn L3 §6.5).
  const char* fmt = fido_cred_fmt(cred.get());
  auto statement = webauthn::cbor::DecodeExact(
      ByteView(fido_cred_attstmt_ptr(cred.get()), fido_cred_attstmt_len(cred.get())),
      webauthn::Check::kAttestationObject, "attStmt");
  if (!fmt || !statement) {
    return Fail(AuthenticatorErrorKind::kRefused, "the key's attestation could not be read");
  }
  auto object = webauthn::cbor::NewMap(3);
  webauthn::cbor::MapAdd(object.get(), webauthn::cbor::Text("fmt"), webauthn::cbor::Text(fmt));
  webauthn::cbor::MapAdd(object.get(), webauthn::cbor::Text("attStmt"), std::move(*statement));
  webauthn::cbor::MapAdd(object.get(), webauthn::cbor::Text("authData"),
                         webauthn::cbor::ByteString(ByteView(
                             fido_cred_authdata_raw_ptr(cred.get()),
                             fido_cred_authdata_raw_len(cred.get()))));
  Fido2Enrollment out;
  out.attestation_object = webauthn::cbor::Serialize(object.get());
  out.credential_id.assign(fido_cred_id_ptr(cred.get()),
                           fido_cred_id_ptr(cred.get()) + fido_cred_id_len(cred.get()));
  out.device_path = path;
  return out;
}

webauthn::Result<Bytes, std::string> UnwrapAuthenticatorData(ByteView wrapped) {
  auto item = webauthn::cbor::DecodeExact(wrapped, webauthn::Check::kAuthenticatorData,
                                          "authenticatorData");
  if (!item) return item.error().message;
  auto bytes = webauthn::cbor::AsBytes(item->get());
  if (!bytes) return std::string("authenticatorData: not a CBOR byte string");
  return std::move(*bytes);
}

webauthn::Result<webauthn::AssertionOutput, AuthenticatorError> Fido2Authenticator::GetAssertion(
    const webauthn::GetAssertionOptions& options) {
  if (options.allow_credentials.empty()) {
    return Fail(AuthenticatorErrorKind::kNotFound, "no security key credential to ask for");
  }
  auto paths = devices_.List(kMaxDevices);
  if (!paths) return Fail(AuthenticatorErrorKind::kUnavailable, paths.error());
  if (paths->empty()) {
    return Fail(AuthenticatorErrorKind::kUnavailable, "no security key is plugged in",
                "No security key found.");
  }
  // 1. Which key holds which credential, without a touch.
  Device holder;
  Bytes credential;
  std::string trouble;
  for (const std::string& path : *paths) {
    auto dev = devices_.Open(path, settings_.timeout_ms);
    if (!dev) {
      trouble = dev.error();
      continue;
    }
    auto held = Probe(dev->get(), options);
    if (!held) {
      trouble = path + ": " + held.error().message;
      continue;
    }
    if (*held) {
      holder = std::move(*dev);
      credential = std::move(**held);
      break;
    }
  }
  if (!holder) {
    if (!trouble.empty()) return Fail(AuthenticatorErrorKind::kUnavailable, trouble);
    return Fail(AuthenticatorErrorKind::kNotFound,
                std::to_string(paths->size()) + " security key(s) plugged in, none holds an "
                                                "enrolled credential",
                "None of the security keys plugged in is enrolled here.");
  }

  // 2. User verification, then the touch on that key alone.
  auto a = NewAssert(options, {credential});
  if (!a) return a.error();
  auto pin = UserVerification(holder.get(), RequiresUv(options, credential), /*pin_if_set=*/false,
                              ui_, settings_,
                              [&] { return fido_assert_set_uv(a->get(), FIDO_OPT_TRUE); });
  if (!pin) return pin.error();
  if (int r = fido_assert_set_up(a->get(), FIDO_OPT_TRUE); r != FIDO_OK) {
    return Fail(AuthenticatorErrorKind::kRefused, FidoError("asking for a touch", r));
  }
  // The touch gets what is left of the relying party's time (timeout=).
  int wait_ms = settings_.timeout_ms;
  if (options.deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          *options.deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return Fail(AuthenticatorErrorKind::kCancelled, "the challenge has expired");
    wait_ms = static_cast<int>(std::min<long long>(left, wait_ms));
  }
  fido_dev_set_timeout(holder.get(), wait_ms);
  ui_.Info(settings_.touch_cue);  // before libfido2 blocks for the touch
  int r = fido_dev_get_assert(holder.get(), a->get(), PinPointer(*pin));
  if (r == FIDO_ERR_PIN_REQUIRED && !*pin) {
    // The key wants UV for this credential (credProtect, or alwaysUv) though
    // the request did not: verify, then touch again.
    pin = UserVerification(holder.get(), true, false, ui_, settings_,
                           [&] { return fido_assert_set_uv(a->get(), FIDO_OPT_TRUE); });
    if (!pin) return pin.error();
    ui_.Info(settings_.touch_cue);
    r = fido_dev_get_assert(holder.get(), a->get(), PinPointer(*pin));
  }
  pin->reset();
  if (r != FIDO_OK) return FromDeviceError(holder.get(), r, wait_ms);
  if (fido_assert_count(a->get()) != 1) {
    return Fail(AuthenticatorErrorKind::kRefused, "the key answered with " +
                                                      std::to_string(fido_assert_count(a->get())) +
                                                      " assertions");
  }

  webauthn::AssertionOutput out;
  const unsigned char* id = fido_assert_id_ptr(a->get(), 0);
  out.credential_id =
      id && fido_assert_id_len(a->get(), 0) ? Bytes(id, id + fido_assert_id_len(a->get(), 0))
                                            : credential;
  auto authdata = UnwrapAuthenticatorData(
      ByteView(fido_assert_authdata_ptr(a->get(), 0), fido_assert_authdata_len(a->get(), 0)));
  if (!authdata) return Fail(AuthenticatorErrorKind::kRefused, authdata.error());
  out.authenticator_data = std::move(*authdata);
  const unsigned char* sig = fido_assert_sig_ptr(a->get(), 0);
  out.signature.assign(sig, sig + fido_assert_sig_len(a->get(), 0));
  if (const unsigned char* user = fido_assert_user_id_ptr(a->get(), 0)) {
    out.user_handle = Bytes(user, user + fido_assert_user_id_len(a->get(), 0));
  }
  return out;
}

}  // namespace tpmauthn::fido2
