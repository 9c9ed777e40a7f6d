// libfido2 device discovery and ownership.
#include "fido2/device.h"

namespace tpmauthn::fido2 {

void DeviceDeleter::operator()(fido_dev_t* dev) const {
  if (!dev) return;
  fido_dev_close(dev);  // FIDO_ERR_INVALID_ARGUMENT when not open: harmless
  fido_dev_free(&dev);
}

std::string FidoError(const std::string& what, int code) {
  return what + ": " + fido_strerr(code) + " (" + std::to_string(code) + ")";
}

// fido_init() is never called: it would read FIDO_DEBUG from the process
// environment (libfido2 1.12–1.15 src/dev.c), which inside su and sudo
// belongs to the caller. Without it libfido2 logs nothing.
webauthn::Result<std::vector<std::string>, std::string> SystemDeviceSource::List(size_t limit) {
  fido_dev_info_t* list = fido_dev_info_new(limit);
  if (!list) return std::string("out of memory listing security keys");
  size_t found = 0;
  const int r = fido_dev_info_manifest(list, limit, &found);
  std::vector<std::string> paths;
  if (r == FIDO_OK) {
    for (size_t i = 0; i < found; ++i) {
      const fido_dev_info_t* info = fido_dev_info_ptr(list, i);
      if (const char* path = fido_dev_info_path(info)) paths.emplace_back(path);
    }
  }
  fido_dev_info_free(&list, limit);
  if (r != FIDO_OK) return FidoError("listing security keys", r);
  return paths;
}

webauthn::Result<Device, std::string> SystemDeviceSource::Open(const std::string& path,
                                                               int timeout_ms) {
  Device dev(fido_dev_new());
  if (!dev) return std::string("out of memory opening a security key");
  if (int r = fido_dev_set_timeout(dev.get(), timeout_ms); r != FIDO_OK) {
    return FidoError("opening " + path, r);
  }
  if (int r = fido_dev_open(dev.get(), path.c_str()); r != FIDO_OK) {
    return FidoError("opening " + path, r);
  }
  return dev;
}

}  // namespace tpmauthn::fido2
