// TCTI configuration strings and the rules for who may name what.
#include "config/tcti.h"

namespace tpmauthn::config {

ConfigResult<TctiConfig> ParseTcti(std::string_view text, TctiSource source) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return ConfigFail("TCTI " + quoted + ": contains spaces or control characters");
    }
  }
  TctiConfig tcti;
  tcti.text = std::string(text);
  const size_t colon = text.find(':');
  tcti.name = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) tcti.conf = std::string(text.substr(colon + 1));
  if (tcti.name.empty()) {
    return ConfigFail("TCTI " + quoted +
                      ": names no TCTI (tpmauthn never uses tpm2-tss's default search; "
                      "write e.g. device:/dev/tpmrm0)");
  }
  if (tcti.name == "device") {
    tcti.kind = TctiKind::kDevice;
  } else if (tcti.name == "swtpm") {
    tcti.kind = TctiKind::kSwtpm;
  } else if (tcti.name == "mssim") {
    tcti.kind = TctiKind::kMssim;
  } else if (tcti.name.find('/') != std::string::npos) {
    tcti.kind = TctiKind::kLoader;
    if (tcti.name.front() != '/') {
      return ConfigFail("TCTI " + quoted + ": a TCTI library must be named by an absolute path");
    }
    if (source == TctiSource::kEnvironment) {
      return ConfigFail("TCTI " + quoted +
                        ": $TPMAUTHN_TCTI may not name a library by path (use --tcti)");
    }
  } else {
    tcti.kind = TctiKind::kLoader;
    if (source == TctiSource::kModule) {
      return ConfigFail("TCTI " + quoted + ": the PAM module loads no TCTI by name (" +
                        tcti.name +
                        "); it has device, swtpm and mssim built in, and a library you trust "
                        "may be named by absolute path (tabrmd, pcap and cmd act on the "
                        "caller's environment, which belongs to the user inside su and sudo)");
    }
  }
  return tcti;
}

}  // namespace tpmauthn::config
