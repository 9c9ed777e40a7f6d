// TCTI loading, a command-counting TCTI wrapper, and the ESYS context.
#include "tpm/connection.h"

#include <tss2/tss2_sys.h>
#include <tss2/tss2_tcti_device.h>
#include <tss2/tss2_tcti_mssim.h>
#include <tss2/tss2_tcti_swtpm.h>
#include <tss2/tss2_tctildr.h>

#include <cstdlib>
#include <cstring>

#include "tpm/host_crypto.h"

// tpm2-tss's Tss2_Tcti_* dispatch macros are C casts.
#pragma GCC diagnostic ignored "-Wold-style-cast"

namespace tpmauthn::tpm {

// A TCTI that forwards to another and counts transmitted commands; used by the
// benchmark and tests to hold the per-assertion command budget.
struct Connection::Counter {
  TSS2_TCTI_CONTEXT_COMMON_V2 common{};
  TSS2_TCTI_CONTEXT* inner = nullptr;
  uint64_t commands = 0;

  static Counter* Self(TSS2_TCTI_CONTEXT* context) { return reinterpret_cast<Counter*>(context); }
  static TSS2_RC Transmit(TSS2_TCTI_CONTEXT* context, size_t size, const uint8_t* command) {
    Counter* self = Self(context);
    ++self->commands;
    return Tss2_Tcti_Transmit(self->inner, size, command);
  }
  static TSS2_RC Receive(TSS2_TCTI_CONTEXT* context, size_t* size, uint8_t* response,
                         int32_t timeout) {
    return Tss2_Tcti_Receive(Self(context)->inner, size, response, timeout);
  }
  static void Finalize(TSS2_TCTI_CONTEXT*) {}  // the Connection finalizes `inner`
  static TSS2_RC Cancel(TSS2_TCTI_CONTEXT* context) {
    return Tss2_Tcti_Cancel(Self(context)->inner);
  }
  static TSS2_RC GetPollHandles(TSS2_TCTI_CONTEXT* context, TSS2_TCTI_POLL_HANDLE* handles,
                                size_t* count) {
    return Tss2_Tcti_GetPollHandles(Self(context)->inner, handles, count);
  }
  static TSS2_RC SetLocality(TSS2_TCTI_CONTEXT* context, uint8_t locality) {
    return Tss2_Tcti_SetLocality(Self(context)->inner, locality);
  }
  static TSS2_RC MakeSticky(TSS2_TCTI_CONTEXT* context, TPM2_HANDLE* handle, uint8_t sticky) {
    return Tss2_Tcti_MakeSticky(Self(context)->inner, handle, sticky);
  }

  explicit Counter(TSS2_TCTI_CONTEXT* wrapped) : inner(wrapped) {
    common.v1.magic = 0x7470'6d61'7574'686eULL;  // "tpmauthn"
    common.v1.version = 2;
    common.v1.transmit = Transmit;
    common.v1.receive = Receive;
    common.v1.finalize = Finalize;
    common.v1.cancel = Cancel;
    common.v1.getPollHandles = GetPollHandles;
    common.v1.setLocality = SetLocality;
    common.makeSticky = MakeSticky;
  }
};

namespace {

using TctiInit = TSS2_RC (*)(TSS2_TCTI_CONTEXT*, size_t*, const char*);

// A linked-in TCTI: ask its size, allocate, initialize.
TSS2_RC InitBuiltin(TctiInit init, const std::string& conf, TSS2_TCTI_CONTEXT** out) {
  const char* c = conf.empty() ? nullptr : conf.c_str();
  size_t size = 0;
  TSS2_RC rc = init(nullptr, &size, c);
  if (rc != TSS2_RC_SUCCESS) return rc;
  auto* context = static_cast<TSS2_TCTI_CONTEXT*>(std::calloc(1, size));
  if (!context) return TSS2_TCTI_RC_MEMORY;
  rc = init(context, &size, c);
  if (rc != TSS2_RC_SUCCESS) {
    std::free(context);
    return rc;
  }
  *out = context;
  return TSS2_RC_SUCCESS;
}

}  // namespace

TpmResult<std::unique_ptr<Connection>> Connection::Open(std::string_view tcti,
                                                        bool count_commands) {
  auto parsed = config::ParseTcti(tcti, config::TctiSource::kCommandLine);
  if (!parsed) return TpmFail(TpmErrorKind::kUnavailable, parsed.error().message);
  return Open(*parsed, count_commands);
}

TpmResult<std::unique_ptr<Connection>> Connection::Open(const config::TctiConfig& tcti,
                                                        bool count_commands) {
  std::unique_ptr<Connection> c(new Connection());
  c->tcti_conf_ = tcti.text;
  TSS2_RC rc = TSS2_RC_SUCCESS;
  const char* operation = "Tss2_Tcti_Device_Init";
  switch (tcti.kind) {
    case config::TctiKind::kDevice:
      rc = InitBuiltin(Tss2_Tcti_Device_Init, tcti.conf, &c->tcti_);
      break;
    case config::TctiKind::kSwtpm:
      operation = "Tss2_Tcti_Swtpm_Init";
      rc = InitBuiltin(Tss2_Tcti_Swtpm_Init, tcti.conf, &c->tcti_);
      break;
    case config::TctiKind::kMssim:
      operation = "Tss2_Tcti_Mssim_Init";
      rc = InitBuiltin(Tss2_Tcti_Mssim_Init, tcti.conf, &c->tcti_);
      break;
    case config::TctiKind::kLoader:
      operation = "Tss2_TctiLdr_Initialize_Ex";
      rc = Tss2_TctiLdr_Initialize_Ex(tcti.name.c_str(),
                                      tcti.conf.empty() ? nullptr : tcti.conf.c_str(), &c->tcti_);
      c->tcti_from_loader_ = rc == TSS2_RC_SUCCESS;
      break;
  }
  if (rc != TSS2_RC_SUCCESS) {
    c->tcti_ = nullptr;
    TpmError error = FromRc(rc, operation);
    error.kind = TpmErrorKind::kUnavailable;
    error.message = "no TPM reachable via " + tcti.text + " (" + error.message + ")";
    return error;
  }
  TSS2_TCTI_CONTEXT* tcti_for_esys = c->tcti_;
  if (count_commands) {
    c->counter_ = std::make_unique<Counter>(c->tcti_);
    tcti_for_esys = reinterpret_cast<TSS2_TCTI_CONTEXT*>(c->counter_.get());
  }
  rc = Esys_Initialize(&c->esys_, tcti_for_esys, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_Initialize");
    error.kind = TpmErrorKind::kUnavailable;
    return error;
  }
  if constexpr (host_crypto::kHookAvailable) {
    c->host_algorithms_ = host_crypto::Algorithms::Fetch();
    if (!c->host_algorithms_) {
      return TpmFail(TpmErrorKind::kUnavailable,
                     "OpenSSL cannot provide the hashes and ciphers ESAPI needs");
    }
    rc = host_crypto::Install(c->esys_, *c->host_algorithms_, &c->host_crypto_);
  }
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_SetCryptoCallbacks");
    error.kind = TpmErrorKind::kUnavailable;
    return error;
  }
  return c;
}

Connection::~Connection() {
  if (esys_) Esys_Finalize(&esys_);
  if (!tcti_) return;
  if (tcti_from_loader_) {
    Tss2_TctiLdr_Finalize(&tcti_);
  } else {
    Tss2_Tcti_Finalize(tcti_);
    std::free(tcti_);
  }
}

uint64_t Connection::commands_sent() const { return counter_ ? counter_->commands : 0; }

TransientHandle& TransientHandle::operator=(TransientHandle&& other) noexcept {
  if (this != &other) {
    Reset();
    esys_ = other.esys_;
    handle_ = other.handle_;
    other.handle_ = ESYS_TR_NONE;
  }
  return *this;
}

namespace {

// TPM2_FlushContext sent with SAPI over ESAPI's own TCTI. ESAPI refuses every
// call (BAD_SEQUENCE) once a command failed half-way through — e.g. the TPM
// answered but checking the response HMAC could not allocate — yet the TPM
// still holds the object; without a resource manager it would hold one of
// its three slots until the next reset. Allocation-free apart from calloc,
// since it runs in destructors.
void FlushBehindEsys(ESYS_CONTEXT* esys, ESYS_TR handle) noexcept {
  TPM2_HANDLE tpm_handle = 0;
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  if (Esys_TR_GetTpmHandle(esys, handle, &tpm_handle) != TSS2_RC_SUCCESS ||
      Esys_GetTcti(esys, &tcti) != TSS2_RC_SUCCESS || !tcti) {
    return;
  }
  const size_t size = Tss2_Sys_GetContextSize(0);
  void* memory = std::calloc(1, size);
  if (!memory) return;
  auto* sys = static_cast<TSS2_SYS_CONTEXT*>(memory);
  TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;
  if (Tss2_Sys_Initialize(sys, size, tcti, &abi) == TSS2_RC_SUCCESS) {
    Tss2_Sys_FlushContext(sys, tpm_handle);
    Tss2_Sys_Finalize(sys);
  }
  std::free(memory);
}

}  // namespace

void TransientHandle::Reset() {
  if (esys_ && handle_ != ESYS_TR_NONE) {
    const TSS2_RC rc = Esys_FlushContext(esys_, handle_);
    if (rc != TSS2_RC_SUCCESS) {
      if ((rc & 0xffff) == TSS2_BASE_RC_BAD_SEQUENCE) FlushBehindEsys(esys_, handle_);
      // Otherwise nothing useful can be done (the TPM went away); the handle
      // is gone from this context either way.
      Esys_TR_Close(esys_, &handle_);
    }
  }
  handle_ = ESYS_TR_NONE;
}

}  // namespace tpmauthn::tpm
