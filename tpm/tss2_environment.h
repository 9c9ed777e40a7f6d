// Keeps the process environment away from tpm2-tss while the PAM module uses
// it. Inside su and sudo the environment belongs to the user who typed the
// command, and tpm2-tss 3.2.1 and 4.1.3 read these variables with plain
// getenv(3) (grep of src/ at both tags; FAPI is not linked into tpmauthn):
//
//   TSS2_LOG            util/log.c: per-library log levels, fixed at each
//                       library's first message
//   TSS2_LOGFILE        util/log.c: fopen(path, "a+") when a message is written
//   TCTI_PCAP_FILE      tcti-pcap-builder.c: the capture file of the pcap TCTI
//   TSS2_FAPICONF       ifapi_config.c (FAPI only)
//   FAPI_TEST_ROOT_CERT, FAPI_TEST_INT_CERT   Fapi_Provision.c (FAPI only)
//   HOME                ifapi_config.c (FAPI only; left alone)
//
// While a Tss2Environment lives, the process sees an environment without
// the listed variables (all but HOME) and with TSS2_LOG=all+NONE; the
// destructor puts the caller's environment back exactly. Because tpm2-tss
// fixes a library's log level at its first message, every tpm2-tss call of
// the process must run inside one (the PAM module wraps the whole TPM
// authenticator in it); a level fixed as NONE also means TSS2_LOGFILE is
// never opened. The pcap TCTI, and every TCTI the loader would find by name,
// is refused in the module anyway (config/tcti.h).
//
// How, in a multi-threaded caller: setenv/unsetenv reallocate the array other
// threads may be reading in getenv (a SEGV inside getenv, seen with 10
// concurrent logins in one process). So nothing is set or unset: under one
// process-wide lock, `environ` is pointed at a filtered copy of the pointer
// array (the strings are the caller's own) and pointed back afterwards. A
// copy is freed only two guards later, long after any getenv that picked it
// up has returned. Another thread's setenv during a login would be undone by
// the restore (POSIX gives setenv no thread safety to begin with).
#pragma once

#include <mutex>

namespace tpmauthn::tpm {

inline constexpr const char* kTss2EnvironmentVariables[] = {
    "TSS2_LOG", "TSS2_LOGFILE", "TCTI_PCAP_FILE", "TSS2_FAPICONF", "FAPI_TEST_ROOT_CERT",
    "FAPI_TEST_INT_CERT"};

class Tss2Environment {
 public:
  // Blocks while another thread of the process holds one.
  Tss2Environment();
  ~Tss2Environment();
  Tss2Environment(const Tss2Environment&) = delete;
  Tss2Environment& operator=(const Tss2Environment&) = delete;

 private:
  std::unique_lock<std::mutex> lock_;
  char** saved_ = nullptr;  // the caller's environ
};

}  // namespace tpmauthn::tpm
