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
// format); imported lines record the one given here.
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

// Every credential of every line, as fido2 credentials. "+verification" or
// "+pin" become uv=pin, otherwise uv=none. Errors: "NAME:LINE: what".
ConfigResult<std::vector<Credential>> ParsePamU2fAuthfile(std::string_view text,
                                                          const std::string& name,
                                                          const ImportSettings& settings);

}  // namespace tpmauthn::config
