// A software TPM for one test: swtpm on a unix socket in a temporary
// directory, started as a child process and stopped by its PID.
#pragma once

#include <sys/types.h>

#include <string>

namespace tpmauthn::testing {

class Swtpm {
 public:
  Swtpm();  // starts swtpm with fresh state; throws if it does not come up
  ~Swtpm();
  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;

  // "swtpm:path=DIR/sock"
  std::string tcti() const { return "swtpm:path=" + dir_ + "/sock"; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace tpmauthn::testing
