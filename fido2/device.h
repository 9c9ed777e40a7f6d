// Roaming FIDO2 keys: finding and opening them. libfido2's own discovery
// (fido_dev_info_manifest: hidraw on Linux) sits behind DeviceSource so the
// tests can plug in a device that speaks CTAPHID from memory
// (tests/support/fake_fido2_device.h) — there is no USB, hidraw or uhid there.
// This directory knows libfido2 and libcbor only: no PAM, no ESAPI.
#pragma once

#include <fido.h>

#include <memory>
#include <string>
#include <vector>

#include "webauthn/result.h"

namespace tpmauthn::fido2 {

// An open device; closes and frees on destruction.
struct DeviceDeleter {
  void operator()(fido_dev_t* dev) const;
};
using Device = std::unique_ptr<fido_dev_t, DeviceDeleter>;

// "what: libfido2's words (code)".
std::string FidoError(const std::string& what, int code);

class DeviceSource {
 public:
  virtual ~DeviceSource() = default;
  // The paths of the keys plugged in now, at most `limit`.
  virtual webauthn::Result<std::vector<std::string>, std::string> List(size_t limit) = 0;
  // Opens one (CTAPHID INIT and GetInfo done), waiting at most `timeout_ms`
  // for the key (a hung or hostile HID device must not hang a login); the
  // device keeps that timeout.
  virtual webauthn::Result<Device, std::string> Open(const std::string& path, int timeout_ms) = 0;
};

// libfido2's built-in transports (hidraw on Linux).
class SystemDeviceSource final : public DeviceSource {
 public:
  webauthn::Result<std::vector<std::string>, std::string> List(size_t limit) override;
  webauthn::Result<Device, std::string> Open(const std::string& path, int timeout_ms) override;
};

// At most this many keys are looked at (pam-u2f's default is 24 credentials
// per user; nobody plugs in more keys than that).
inline constexpr size_t kMaxDevices = 16;

}  // namespace tpmauthn::fido2
