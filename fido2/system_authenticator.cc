// Security keys plugged into this machine, behind webauthn::Authenticator.
#include "fido2/system_authenticator.h"

#include "fido2/device.h"
#include "fido2/fido2_authenticator.h"

namespace tpmauthn::fido2 {
namespace {

// Owns the device source the authenticator looks keys up in.
class SystemAuthenticator final : public webauthn::Authenticator {
 public:
  SystemAuthenticator(webauthn::UserInterface& ui, Fido2Settings settings)
      : authenticator_(devices_, ui, std::move(settings)) {}
  webauthn::Result<webauthn::AssertionOutput, webauthn::AuthenticatorError> GetAssertion(
      const webauthn::GetAssertionOptions& options) override {
    return authenticator_.GetAssertion(options);
  }

 private:
  SystemDeviceSource devices_;
  Fido2Authenticator authenticator_;
};

}  // namespace

int TouchTimeoutMs(unsigned timeout_seconds) {
  return timeout_seconds > 0 ? static_cast<int>(timeout_seconds) * 1000 : 30'000;
}

webauthn::Result<Fido2Enrollment, webauthn::AuthenticatorError> EnrollOnSystemKey(
    webauthn::UserInterface& ui, const Fido2Settings& settings, const Fido2EnrollRequest& request) {
  SystemDeviceSource devices;
  return Enroll(devices, ui, settings, request);
}

std::unique_ptr<webauthn::Authenticator> NewSystemAuthenticator(webauthn::UserInterface& ui,
                                                                Fido2Settings settings) {
  return std::make_unique<SystemAuthenticator>(ui, std::move(settings));
}

}  // namespace tpmauthn::fido2
