// pam_tpmauthn options: module arguments and /etc/tpmauthn/tpmauthn.conf take
// the same keys; arguments win. Unknown keys and bad values are errors that
// name the key, so a misconfiguration fails closed instead of silently.
// Nothing here reads the process environment: inside su and sudo it belongs
// to the user who typed the command.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <vector>

#include "config/config_error.h"
#include "config/credential.h"
#include "config/tcti.h"

namespace tpmauthn::config {

enum class UvPolicy { kRequired, kDiscouraged };
enum class Mode { kLocal, kRemote, kAuto };

inline constexpr const char* kDefaultConfigFile = "/etc/tpmauthn/tpmauthn.conf";
inline constexpr const char* kDefaultCredentials = "/etc/tpmauthn/credentials";
inline constexpr const char* kDefaultStore = "/var/lib/tpmauthn/keys";
inline constexpr const char* kDefaultState = "/var/lib/tpmauthn/state";

// The RP ID travels in one length byte in remote requests (webauthn/remote_message.h).
inline constexpr size_t kMaxRpIdLength = 255;

// kDefaultTcti, parsed.
TctiConfig DefaultModuleTcti();

struct Options {
  std::string credentials = kDefaultCredentials;  // credentials=
  bool user_credentials = false;                  // user_credentials
  std::string store = kDefaultStore;              // store=
  std::string state = kDefaultState;              // state=
  TctiConfig tcti = DefaultModuleTcti();          // tcti= (config/tcti.h rules)
  std::optional<std::string> rp_id;               // rp_id= (default: the origin)
  std::optional<std::string> origin;              // origin= (default: pam://<hostname>)
  UvPolicy uv = UvPolicy::kRequired;              // uv=required|discouraged
  Mode mode = Mode::kAuto;                        // mode=local|remote|auto
  bool nouserok = false;                          // nouserok
  unsigned timeout_seconds = 0;                   // timeout= (0: none)
  unsigned max_tries = 3;                         // max_tries=
  bool cue = false;                               // cue
  std::optional<std::string> prompt;              // prompt=
  bool debug = false;                             // debug
  // PIN rules for enroll, reset-pin, change-pin and pam_sm_chauthtok
  // (config/pin_rules.h). Only root's files set them.
  unsigned pin_min_length = 6;                    // pin_min_length= (4-64)
  bool pin_allow_simple = false;                  // pin_allow_simple
  // Offer the PIN when the caller (real uid, PAM_RUSER) is neither root nor
  // the user: off by default, since a blocked PIN stays blocked until reset.
  bool pin_for_others = false;                    // pin_for_others
  // Where PAM runs as a user (screen lockers), the setuid helper that runs
  // the flow instead (pam_module/helper_client.h); nullopt: the built-in path.
  std::optional<std::string> helper;              // helper=
  // PAM_AUTHTOK (a secret the caller collected before PAM asked, as swaylock
  // and i3lock do) answers the first PIN prompt; use_first_pass answers no
  // other prompt, try_first_pass asks again after a wrong one.
  bool try_first_pass = false;                    // try_first_pass
  bool use_first_pass = false;                    // use_first_pass
  // Local authenticators in order of preference (kTpm, kFido2; each at most
  // once). A user with credentials of both kinds is asked by the first; a
  // TPM that is locked out or missing hands over to the next.
  std::vector<AuthenticatorKind> authenticators = {AuthenticatorKind::kTpm,
                                                   AuthenticatorKind::kFido2};
  // authenticators=
  // A program that prints the user's credential lines (the pattern of sshd's
  // AuthorizedKeysCommand; `tpmauthn ldap-credentials` is one): argv, the
  // user name is appended. Empty: none. Its lines join the files'.
  std::vector<std::string> credentials_command;  // credentials_command=PATH [ARGS]
  std::string credentials_command_user = "nobody";  // credentials_command_user=
  unsigned credentials_command_timeout_seconds = 5;  // credentials_command_timeout=1..60
  // How long the last good answer of credentials_command may stand in when
  // the directory is unreachable (the command exits 75, EX_TEMPFAIL); 0: never.
  unsigned cache_max_age_seconds = 24 * 3600;  // cache_max_age=N[s|m|h|d]
};

// credentials_command arguments at most, and bytes of its output.
inline constexpr size_t kMaxCommandArguments = 16;

// Applies one "key" or "key=value" token; `source` names where it came from
// ("module argument", "/etc/tpmauthn/tpmauthn.conf:3") for the error message.
ConfigResult<void> ApplyOption(Options& options, std::string_view token, std::string_view source);

// Applies a configuration file's text: one option per line, '#' comments and
// blank lines allowed; the value runs to the end of the line (prompt= may hold
// spaces).
ConfigResult<void> ApplyConfigText(Options& options, std::string_view text, std::string_view name);

// The effective options: defaults, then the config file (if `config_text` is
// set), then `args`.
ConfigResult<Options> ResolveOptions(std::optional<std::string_view> config_text,
                                     std::string_view config_name,
                                     std::span<const std::string_view> args);

// tpmauthn.conf's text, read under the file rules (root-owned, not group- or
// world-writable, at most 64 KiB); nullopt when there is no such file.
ConfigResult<std::optional<std::string>> ReadConfigFile(const std::string& path);

// The defaults, then /etc/tpmauthn/tpmauthn.conf: what the CLI and
// tpmauthn-helper go by (no module arguments reach them).
ConfigResult<Options> SystemOptions();

// pam://<hostname>, pam-u2f's default origin and RP ID.
std::string DefaultOrigin();

}  // namespace tpmauthn::config
