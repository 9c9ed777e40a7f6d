// Removing tpm2-tss's environment variables for a while, and putting them back.
#include "tpm/tss2_environment.h"

#include <cstdlib>

namespace tpmauthn::tpm {
namespace {

std::mutex& EnvironmentMutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace

Tss2Environment::Tss2Environment() : lock_(EnvironmentMutex()) {
  for (const char* name : kTss2EnvironmentVariables) {
    if (const char* value = std::getenv(name)) saved_.emplace_back(name, value);
    // unsetenv removes every entry of that name, should there be several.
    ::unsetenv(name);
  }
  ::setenv("TSS2_LOG", "all+NONE", /*overwrite=*/1);
}

Tss2Environment::~Tss2Environment() {
  ::unsetenv("TSS2_LOG");
  for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
}

}  // namespace tpmauthn::tpm
