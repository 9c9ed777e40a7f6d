// A connection to the TPM: the TCTI, an optional counting wrapper, and the
// ESYS context. The destructor finalizes all of them. Which TCTI is the
// caller's decision (config/tcti.h: the module's tcti= or tpmauthn.conf,
// the CLI's --tcti or $TPMAUTHN_TCTI, else device:/dev/tpmrm0); nothing here
// reads the environment, and tpm2-tss's default search is never used. The
// device, swtpm and mssim TCTIs are linked in; only a library named by path
// goes through tpm2-tss's loader.
#pragma once

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#include <memory>
#include <optional>
#include <string>

#include "config/tcti.h"
#include "tpm/host_crypto.h"
#include "tpm/tpm_error.h"

namespace tpmauthn::tpm {

class Connection {
 public:
  // Opens the TCTI `tcti` names. With `count_commands`, every command sent
  // is counted (see commands_sent()).
  static TpmResult<std::unique_ptr<Connection>> Open(const config::TctiConfig& tcti,
                                                     bool count_commands = false);
  // The same for a configuration string written by the CLI's user or a test
  // (config::TctiSource::kCommandLine rules).
  static TpmResult<std::unique_ptr<Connection>> Open(std::string_view tcti,
                                                     bool count_commands = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ESYS_CONTEXT* esys() const { return esys_; }
  // Commands transmitted since Open (0 unless count_commands was set).
  uint64_t commands_sent() const;
  // Whether ESAPI's host-side crypto is tpm/host_crypto.h's (tpm2-tss ≥ 4.0)
  // rather than its built-in backend.
  bool host_crypto() const { return host_crypto_; }
  // The TCTI configuration string in use.
  const std::string& tcti() const { return tcti_conf_; }

 private:
  Connection() = default;
  TSS2_TCTI_CONTEXT* tcti_ = nullptr;
  bool tcti_from_loader_ = false;  // finalized by Tss2_TctiLdr_Finalize, else by us
  struct Counter;
  std::unique_ptr<Counter> counter_;
  // Declared before esys_: destroyed after ~Connection finalized it.
  std::unique_ptr<host_crypto::Algorithms> host_algorithms_;
  ESYS_CONTEXT* esys_ = nullptr;
  bool host_crypto_ = false;
  std::string tcti_conf_;
};

// An ESYS_TR for a transient object or session, flushed from the TPM when the
// owner goes away (swtpm has 3 object slots and there is no resource manager).
class TransientHandle {
 public:
  TransientHandle() = default;
  TransientHandle(ESYS_CONTEXT* esys, ESYS_TR handle) : esys_(esys), handle_(handle) {}
  TransientHandle(TransientHandle&& other) noexcept { *this = std::move(other); }
  TransientHandle& operator=(TransientHandle&& other) noexcept;
  ~TransientHandle() { Reset(); }

  ESYS_TR get() const { return handle_; }
  // The TPM already dropped it (a session used without continueSession).
  void Forget() { handle_ = ESYS_TR_NONE; }
  void Reset();

 private:
  ESYS_CONTEXT* esys_ = nullptr;
  ESYS_TR handle_ = ESYS_TR_NONE;
};

// Frees memory ESAPI returned.
struct EsysFree {
  void operator()(void* p) const noexcept { Esys_Free(p); }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFree>;

}  // namespace tpmauthn::tpm
