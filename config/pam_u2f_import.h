// Reading pam-u2f authfiles so their credentials can become tpmauthn lines.
//
// Current format (pam-u2f >= 1.1), one user per line:
//   user:KEYHANDLE,PUBKEY,COSETYPE,ATTRIBUTES[:KEYHANDLE,PUBKEY,COSETYPE,ATTRIBUTES...]
//   KEYHANDLE  standard base64 credential id, or "*" for a discoverable credential
//   PUBKEY     standard base64 of the raw key: es256 x||y (64 bytes; 04||x||y
//              also accepted), eddsa 32 bytes, rs256 n (256) || e (3)
//   COSETYPE   es256 | eddsa | rs256
//   ATTRIBUTES "+presence", "+verification", "+pin" concatenated, or empty
// Old format (pam-u2f < 1.1, U2F only):
//   user:KEYHANDLE,PUBKEY[:...]  KEYHANDLE websafe base64, PUBKEY hex of the
//   65-byte uncompressed P-256 point; es256, presence only.
// pam-u2f's RP ID and origin default to pam://$HOSTNAME (the appid, for the old
// format; "ssh:" for SSH-format files); imported lines record the one given here.
//
// Which lines count, as pam-u2f (util.c, parse_native_format) reads them:
// only the LAST line for a user (earlier ones are reported as skipped); a user
// with no credential ("alice:" or "alice") has nothing to import (reported);
// empty ":"-separated entries are skipped; a credential of three fields has no
// attributes; at most 24 credentials of a line count (pam-u2f's default
// max_devices; the rest are reported). A malformed credential still refuses
// the whole file, so nothing is written.
//
// SSH format (pam-u2f's sshformat=1): an OpenSSH "openssh-key-v1" private key
// file of type sk-ecdsa-sha2-nistp256@openssh.com or sk-ssh-ed25519@openssh.com,
// unencrypted, one key; no user name in it. Key handle and public point become
// the credential; flag 0x04 (user verification required) becomes UV required,
// as "+verification" does; the application string is not checked (pam-u2f
// does not either).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/credential.h"

namespace tpmauthn::config {

struct ImportSettings {
  std::string rp_id;   // what the credentials were made for
  std::string origin;
  std::string created;  // date for the imported lines
};

inline constexpr size_t kPamU2fMaxDevices = 24;
inline constexpr const char* kPamU2fSshOrigin = "ssh:";

struct U2fImport {
  std::vector<Credential> credentials;
  // What was left out and why, one line each ("NAME:LINE: ...").
  std::vector<std::string> notes;
};

// The credentials pam-u2f would use, as fido2 credentials: "+verification" or
// "+pin" become uv=pin, otherwise uv=none. Errors: "NAME:LINE: what".
ConfigResult<U2fImport> ParsePamU2fAuthfile(std::string_view text, const std::string& name,
                                            const ImportSettings& settings);

// True if `text` is an OpenSSH private key file (pam-u2f's SSH format).
bool IsSshFormatAuthfile(std::string_view text);

// An SSH-format authfile's one credential, for `user`.
ConfigResult<U2fImport> ParsePamU2fSshKey(std::string_view text, const std::string& name,
                                          const std::string& user,
                                          const ImportSettings& settings);

}  // namespace tpmauthn::config
