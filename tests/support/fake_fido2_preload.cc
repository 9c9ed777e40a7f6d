// Test-only LD_PRELOAD library: security keys for processes that use
// libfido2's own discovery (pam_tpmauthn.so, tpmauthn-helper is setuid and
// never gets it, the tpmauthn CLI). With $TPMAUTHN_TEST_FIDO2_KEYS=DIR, every
// DIR/*.json is a plugged-in key (a FakeFido2Device's saved state):
// fido_dev_info_manifest lists them, fido_dev_open on such a path gives the
// device io functions that load the file, speak CTAPHID from memory, and
// save it back on close. Without the variable both pass through to libfido2.
#include <dlfcn.h>
#include <fido.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fake_fido2_device.h"

namespace {

using tpmauthn::testing::FakeFido2Device;

struct OpenKey {
  std::string path;
  std::unique_ptr<FakeFido2Device> device;
};

// No exception may cross libfido2's C frames.
void* KeyOpen(const char* path) {
  try {
    std::ifstream in(path);
    if (!in) return nullptr;
    std::stringstream text;
    text << in.rdbuf();
    return new OpenKey{path, FakeFido2Device::Load(text.str())};
  } catch (const std::exception&) {
    return nullptr;
  }
}

void KeyClose(void* handle) {
  std::unique_ptr<OpenKey> key(static_cast<OpenKey*>(handle));
  try {
    const std::string temp = key->path + ".tmp";
    {
      std::ofstream out(temp, std::ios::trunc);
      out << key->device->Save();
    }
    std::filesystem::rename(temp, key->path);
  } catch (const std::exception&) {
    // The key's state is lost, as a key pulled out mid-way; the test sees it.
  }
}

int KeyRead(void* handle, unsigned char* buf, size_t len, int) {
  try {
    return static_cast<OpenKey*>(handle)->device->Read(buf, len);
  } catch (const std::exception&) {
    return -1;
  }
}

int KeyWrite(void* handle, const unsigned char* buf, size_t len) {
  try {
    static_cast<OpenKey*>(handle)->device->Write(buf, len);
    return static_cast<int>(len);
  } catch (const std::exception&) {
    return -1;
  }
}

const fido_dev_io_t kIo = {KeyOpen, KeyClose, KeyRead, KeyWrite};

const char* KeysDir() {
  const char* dir = std::getenv("TPMAUTHN_TEST_FIDO2_KEYS");
  return dir && *dir ? dir : nullptr;
}

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int fido_dev_info_manifest(
    fido_dev_info_t* list, size_t ilen, size_t* olen) {
  const char* dir = KeysDir();
  if (!dir) {
    return Next<int (*)(fido_dev_info_t*, size_t, size_t*)>("fido_dev_info_manifest")(list, ilen,
                                                                                      olen);
  }
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  *olen = 0;
  for (const std::string& path : paths) {
    if (*olen == ilen) break;
    if (fido_dev_info_set(list, *olen, path.c_str(), "tpmauthn-test", "fake key", &kIo,
                          nullptr) != FIDO_OK) {
      return FIDO_ERR_INTERNAL;
    }
    ++*olen;
  }
  return FIDO_OK;
}

extern "C" __attribute__((visibility("default"))) int fido_dev_open(fido_dev_t* dev,
                                                                   const char* path) {
  const char* dir = KeysDir();
  if (dir && path && std::string(path).rfind(std::string(dir) + "/", 0) == 0) {
    if (int r = fido_dev_set_io_functions(dev, &kIo); r != FIDO_OK) return r;
  }
  return Next<int (*)(fido_dev_t*, const char*)>("fido_dev_open")(dev, path);
}
