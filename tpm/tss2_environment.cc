// Showing tpm2-tss an environment without its variables for a while.
#include "tpm/tss2_environment.h"

#include <unistd.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace tpmauthn::tpm {
namespace {

std::mutex& EnvironmentMutex() {
  static std::mutex mutex;
  return mutex;
}

// The filtered arrays: the one in use and the one before it (guarded by the
// mutex; each is freed only when a third is made).
std::vector<char*>& CurrentCopy() {
  static std::vector<char*> copy;
  return copy;
}
std::vector<char*>& PreviousCopy() {
  static std::vector<char*> copy;
  return copy;
}

bool Listed(const char* entry) {
  const std::string_view text(entry);
  for (const char* name : kTss2EnvironmentVariables) {
    const size_t length = std::strlen(name);
    if (text.size() > length && text.compare(0, length, name) == 0 && text[length] == '=') {
      return true;
    }
  }
  return false;
}

char kQuietLog[] = "TSS2_LOG=all+NONE";

}  // namespace

Tss2Environment::Tss2Environment() : lock_(EnvironmentMutex()), saved_(environ) {
  std::vector<char*> copy;
  for (char** entry = environ; entry && *entry; ++entry) {
    if (!Listed(*entry)) copy.push_back(*entry);
  }
  copy.push_back(kQuietLog);
  copy.push_back(nullptr);
  PreviousCopy() = std::move(CurrentCopy());
  CurrentCopy() = std::move(copy);
  environ = CurrentCopy().data();
}

Tss2Environment::~Tss2Environment() { environ = saved_; }

}  // namespace tpmauthn::tpm
