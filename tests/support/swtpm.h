// A software TPM for one test: swtpm on a unix socket in a temporary
// directory, started as a child process and stopped by its PID.
#pragma once

#include <sys/types.h>

#include <string>

namespace tpmauthn::testing {

class Swtpm {
 public:
  // Starts swtpm with fresh state; throws if it does not come up. With
  // `ek_certificates`, the state is first manufactured by swtpm_setup with
  // EK certificates (RSA at NV 0x01c00002, P-384 at 0x01c00016; EKs
  // persistent at 0x81010001 / 0x81010016) issued by swtpm_localca, whose
  // root and issuer certificates are then in ek_ca_dir().
  explicit Swtpm(bool ek_certificates = false);
  ~Swtpm();
  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;

  // "swtpm:path=DIR/sock"
  std::string tcti() const { return "swtpm:path=" + dir_ + "/sock"; }
  const std::string& dir() const { return dir_; }
  // swtpm_localca's state: swtpm-localca-rootca-cert.pem, issuercert.pem.
  std::string ek_ca_dir() const { return dir_ + "/ek-ca"; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace tpmauthn::testing
