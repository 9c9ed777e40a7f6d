// /etc/tpmauthn/ldap.conf: where `tpmauthn ldap-credentials` finds a user's
// credentials. ldap.conf(5)-style lines, "KEY VALUE", '#' comments; unknown
// keys and bad values are errors naming file and line. Only this file is read:
// libldap's own ldap.conf and ~/.ldaprc are switched off (LDAPNOINIT), so the
// answer never depends on who runs the command or where.
//
//   uri ldaps://ldap.example.com            ldap:// or ldaps://, space-separated list
//   (ldap:// always with StartTLS: the bind password and the answers never travel in clear)
//   base dc=example,dc=com
//   filter (&(objectClass=posixAccount)(uid=%u))   %u: the user, escaped (RFC 4515)
//   user_attribute uid                       the entry's is the user only if a value of this
//                                            is the user name exactly (LDAP matches uid
//                                            without regard to case; login names do not)
//   credential_attribute tpmauthnCredential  full credential lines (our schema)
//   passkey_attribute passkey                SSSD's passkey:<id>,<SPKI> values ("" = off)
//   passkey_rp_id ipa.example.com            the RP ID SSSD's passkeys were made for
//   passkey_uv pin|none                      whether logins with them ask the PIN (pin)
//   ca_file /etc/ssl/certs/ldap-ca.pem       trust anchors for the server (TLS is always
//                                            checked; default: the system's bundle)
//   bind_dn cn=tpmauthn,ou=services,dc=example,dc=com   (absent: anonymous)
//   bind_password_file /etc/tpmauthn/ldap.secret        (with bind_dn)
//   network_timeout 3                        seconds to connect (per server)
//   search_timeout 3                         seconds for the search
//   timeout 4                                seconds for the whole lookup, every server
//                                            tried: then "unreachable" (exit 75). Keep it
//                                            below the module's credentials_command_timeout.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace tpmauthn::config {

inline constexpr const char* kDefaultLdapConfig = "/etc/tpmauthn/ldap.conf";
// Debian's (ca-certificates) bundle of the system's trusted CAs.
inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

struct LdapSettings {
  std::vector<std::string> uris;
  std::string base;
  std::string filter = "(&(objectClass=posixAccount)(uid=%u))";
  std::string user_attribute = "uid";
  std::string credential_attribute = "tpmauthnCredential";
  std::string passkey_attribute = "passkey";
  std::optional<std::string> passkey_rp_id;
  bool passkey_uv = true;
  std::optional<std::string> ca_file;
  std::optional<std::string> bind_dn;
  std::optional<std::string> bind_password_file;
  unsigned network_timeout_seconds = 3;
  unsigned search_timeout_seconds = 3;
  unsigned timeout_seconds = 4;
};

// Parses the file's text; `name` labels errors ("FILE:LINE: ...").
ConfigResult<LdapSettings> ParseLdapSettings(std::string_view text, const std::string& name);

// An RFC 4515 assertion value: '*', '(', ')', '\' and NUL as \XX.
std::string EscapeFilterValue(std::string_view value);

// `filter` with every %u replaced by EscapeFilterValue(user) ("%%" is "%").
std::string ExpandFilter(std::string_view filter, std::string_view user);

}  // namespace tpmauthn::config
