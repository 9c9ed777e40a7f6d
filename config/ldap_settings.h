// /etc/tpmauthn/ldap.conf: where `tpmauthn ldap-credentials` finds a user's
// credentials. ldap.conf(5)-style lines, "KEY VALUE", '#' comments; unknown
// keys and bad values are errors naming file and line. Only this file is read:
// libldap's own ldap.conf and ~/.ldaprc are switched off (LDAPNOINIT), so the
// answer never depends on who runs the command or where.
//
//   uri ldaps://ldap.example.com            ldap:// or ldaps://, space-separated list
//   base dc=example,dc=com
//   filter (&(objectClass=posixAccount)(uid=%u))   %u: the user, escaped (RFC 4515)
//   credential_attribute tpmauthnCredential  full credential lines (our schema)
//   passkey_attribute passkey                SSSD's passkey:<id>,<SPKI> values ("" = off)
//   passkey_rp_id ipa.example.com            the RP ID SSSD's passkeys were made for
//   passkey_uv pin|none                      whether logins with them ask the PIN (pin)
//   starttls yes|no                          for ldap:// (default yes)
//   ca_file /etc/ssl/certs/ldap-ca.pem       trust anchors for the server (TLS is checked)
//   bind_dn cn=tpmauthn,ou=services,dc=example,dc=com   (absent: anonymous)
//   bind_password_file /etc/tpmauthn/ldap.secret        (with bind_dn)
//   network_timeout 3                        seconds to connect
//   search_timeout 5                         seconds for the search
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace tpmauthn::config {

inline constexpr const char* kDefaultLdapConfig = "/etc/tpmauthn/ldap.conf";

struct LdapSettings {
  std::vector<std::string> uris;
  std::string base;
  std::string filter = "(&(objectClass=posixAccount)(uid=%u))";
  std::string credential_attribute = "tpmauthnCredential";
  std::string passkey_attribute = "passkey";
  std::optional<std::string> passkey_rp_id;
  bool passkey_uv = true;
  bool starttls = true;
  std::optional<std::string> ca_file;
  std::optional<std::string> bind_dn;
  std::optional<std::string> bind_password_file;
  unsigned network_timeout_seconds = 3;
  unsigned search_timeout_seconds = 5;
};

// Parses the file's text; `name` labels errors ("FILE:LINE: ...").
ConfigResult<LdapSettings> ParseLdapSettings(std::string_view text, const std::string& name);

// An RFC 4515 assertion value: '*', '(', ')', '\' and NUL as \XX.
std::string EscapeFilterValue(std::string_view value);

// `filter` with every %u replaced by EscapeFilterValue(user) ("%%" is "%").
std::string ExpandFilter(std::string_view filter, std::string_view user);

}  // namespace tpmauthn::config
