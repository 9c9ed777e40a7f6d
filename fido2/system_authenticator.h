// The roaming-key authenticator over the security keys plugged into this
// machine, for callers that must not see libfido2 (the PAM module and the
// helper: no file knows both PAM and libfido2).
#pragma once

#include <memory>
#include <string>

#include "webauthn/authenticator.h"

namespace tpmauthn::fido2 {

struct Fido2Settings {
  // How long to wait for each exchange with a key, the touch included.
  int timeout_ms = 30'000;
  std::string pin_prompt = "PIN for your security key: ";
  std::string touch_cue = "Touch your security key.";
};

// The module's timeout= (0: none set) as the wait for a touch: that many
// seconds, else 30 s (keys give up on a touch after about 30 s themselves).
int TouchTimeoutMs(unsigned timeout_seconds);

// A Fido2Authenticator over libfido2's own discovery (hidraw on Linux),
// talking to the user through `ui`.
std::unique_ptr<webauthn::Authenticator> NewSystemAuthenticator(webauthn::UserInterface& ui,
                                                                Fido2Settings settings);

}  // namespace tpmauthn::fido2
