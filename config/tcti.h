// Which TPM connection (TCTI) a configuration may name, by where it came from.
//
// tpm2-tss's loader turns a TCTI name into dlopen(3) of a library, and with no
// name at all it searches (tabrmd, /dev/tpmrm0, /dev/tpm0, a simulator on
// localhost TCP ports). Inside `su` or `sudo` that would run code chosen by
// whoever can influence the configuration, as root. So tpmauthn never asks for
// the default search, and it names a library by path only on root's word:
//
//   source              built-in names         other loader names   library by path
//   kModule             device swtpm mssim     refused (1)          yes (root's files)
//   kCommandLine        device swtpm mssim     yes                  yes
//   kEnvironment        device swtpm mssim     yes                  refused (2)
//
// (1) a name makes the loader search for a library; and of the usual ones,
//     tabrmd (GLib reads DBUS_* and GIO_* variables), pcap (writes
//     $TCTI_PCAP_FILE) and cmd (runs a command that inherits the environment)
//     act on the caller's environment, which inside su/sudo belongs to the
//     user typing the command. Root may still name a library by path.
// (2) $TPMAUTHN_TCTI can be inherited unnoticed (sudo -E, a login script);
//     naming a library needs --tcti on the command line.
// The built-in TCTIs are linked into tpmauthn and never loaded by name.
#pragma once

#include <string>
#include <string_view>

#include "config/config_error.h"

namespace tpmauthn::config {

// The module's and the CLI's TPM when nothing else is configured: the kernel's
// resource manager (never tpm2-tss's default search).
inline constexpr const char* kDefaultTcti = "device:/dev/tpmrm0";

enum class TctiSource {
  kModule,       // tcti= module argument or /etc/tpmauthn/tpmauthn.conf, in the PAM module
  kCommandLine,  // tpmauthn --tcti, or tpmauthn.conf read by the CLI
  kEnvironment,  // $TPMAUTHN_TCTI (CLI only)
};

enum class TctiKind {
  kDevice,   // libtss2-tcti-device, linked
  kSwtpm,    // libtss2-tcti-swtpm, linked
  kMssim,    // libtss2-tcti-mssim, linked
  kLoader,   // another TCTI through tpm2-tss's loader (a name or a library path)
};

struct TctiConfig {
  TctiKind kind = TctiKind::kDevice;
  std::string name;  // as written before the first ':' ("device", "/usr/lib/x/libfoo.so")
  std::string conf;  // after the first ':' (may be empty: the TCTI's own default)
  std::string text;  // the whole configuration string, for messages
};

// "NAME[:CONF]" checked against the rules above. Errors say why.
ConfigResult<TctiConfig> ParseTcti(std::string_view text, TctiSource source);

}  // namespace tpmauthn::config
