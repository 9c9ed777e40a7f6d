// A roaming FIDO2 security key behind the webauthn::Authenticator interface,
// through libfido2 (CTAP 2.0/2.1, and U2F keys through libfido2's fallback).
//
// One getAssertion:
//   1. every key plugged in is asked silently (up=false, no PIN) which of the
//      allowed credentials it holds — nothing blinks, nothing is counted;
//   2. on the first key holding one: the PIN if that credential or the
//      request needs user verification (asked through the UserInterface; a
//      key with built-in UV and no PIN is asked for UV instead), then the cue
//      "Touch your security key" is sent *before* libfido2 blocks for the
//      touch, and the assertion is made over the relying party's own
//      clientDataJSON (fido_assert_set_clientdata);
//   3. a touch that does not come within the timeout is cancelled
//      (fido_dev_cancel) and reported as kCancelled.
// Nothing here checks the response: the relying party verifies it (WebAuthn
// L3 §7.2, with the enrolled key) and keeps the sign counter — libfido2 does
// neither for us. libfido2 1.12 returns authenticatorData CBOR-wrapped (a byte
// string); it is unwrapped here, and a missing credential id (one allowed
// credential) is filled in from the allow list.
#pragma once

#include <string>

#include "fido2/device.h"
#include "fido2/system_authenticator.h"
#include "webauthn/authenticator.h"

namespace tpmauthn::fido2 {

class Fido2Authenticator final : public webauthn::Authenticator {
 public:
  Fido2Authenticator(DeviceSource& devices, webauthn::UserInterface& ui, Fido2Settings settings)
      : devices_(devices), ui_(ui), settings_(std::move(settings)) {}

  webauthn::Result<webauthn::AssertionOutput, webauthn::AuthenticatorError> GetAssertion(
      const webauthn::GetAssertionOptions& options) override;

 private:
  DeviceSource& devices_;
  webauthn::UserInterface& ui_;
  Fido2Settings settings_;
};

// EnrollOnSystemKey over any device source.
webauthn::Result<Fido2Enrollment, webauthn::AuthenticatorError> Enroll(
    DeviceSource& devices, webauthn::UserInterface& ui, const Fido2Settings& settings,
    const Fido2EnrollRequest& request);

// The authenticatorData inside libfido2's CBOR byte string (1.12+ wraps it).
webauthn::Result<webauthn::Bytes, std::string> UnwrapAuthenticatorData(webauthn::ByteView wrapped);

}  // namespace tpmauthn::fido2
