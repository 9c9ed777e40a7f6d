// The roaming-key authenticator over the security keys plugged into this
// machine, for callers that must not see libfido2 (the PAM module and the
// helper: no file knows both PAM and libfido2).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "webauthn/authenticator.h"

namespace tpmauthn::fido2 {

struct Fido2Settings {
  // How long to wait for each exchange with a key, the touch included.
  int timeout_ms = 30'000;
  std::string pin_prompt = webauthn::kSecurityKeyPinPrompt;
  std::string touch_cue = "Touch your security key.";
};

// The module's timeout= (0: none set) as the wait for a touch: that many
// seconds, else 30 s (keys give up on a touch after about 30 s themselves).
int TouchTimeoutMs(unsigned timeout_seconds);

// makeCredential on a security key (tpmauthn enroll --authenticator fido2).
struct Fido2EnrollRequest {
  std::string rp_id;
  webauthn::Bytes client_data_json;  // the RP's webauthn.create clientDataJSON
  webauthn::Bytes user_handle;
  std::string user_name;
  bool resident = false;  // a discoverable credential (rk)
  bool uv = true;         // the credential is for logins with user verification
  std::vector<webauthn::Bytes> exclude;  // credentials the key must not already hold
  std::string device_path;               // empty: the one key plugged in
};

struct Fido2Enrollment {
  webauthn::Bytes credential_id;
  // {"fmt", "attStmt", "authData"} in CTAP2 canonical CBOR, as a browser
  // hands it to a relying party; verified by the caller (§7.1).
  webauthn::Bytes attestation_object;
  std::string device_path;
};

// With exactly one key plugged in (or `device_path`): the key's PIN if it has
// one (a CTAP 2.0 key wants it for makeCredential whatever the UV wish), the
// cue, the touch. Several keys and no path: kRefused naming them.
webauthn::Result<Fido2Enrollment, webauthn::AuthenticatorError> EnrollOnSystemKey(
    webauthn::UserInterface& ui, const Fido2Settings& settings, const Fido2EnrollRequest& request);

// A Fido2Authenticator over libfido2's own discovery (hidraw on Linux),
// talking to the user through `ui`.
std::unique_ptr<webauthn::Authenticator> NewSystemAuthenticator(webauthn::UserInterface& ui,
                                                                Fido2Settings settings);

}  // namespace tpmauthn::fido2
