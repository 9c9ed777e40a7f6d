// One user's entry in an LDAP directory, through libldap (OpenLDAP's client
// library): the only file of tpmauthn that knows libldap. It runs in
// `tpmauthn ldap-credentials` (credentials_command=), never in a PAM process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/directory_entry.h"
#include "config/ldap_settings.h"
#include "webauthn/result.h"
#include "webauthn/secret.h"

namespace tpmauthn::ldap {

struct LookupFailure {
  bool unreachable = false;  // no server answered (connect, TLS handshake, timeout)
  std::string message;
};

// Connects to the first of `settings.uris` that answers within what is left
// of `settings.timeout` (StartTLS on ldap://, always; the server's
// certificate always checked, against ca_file or the system's bundle), binds
// (simple, bind_dn with `password`, or anonymous), searches `base` (subtree)
// with the expanded filter, and returns the entry's values if its
// user_attribute names `user` exactly (else `not_this_user`). No entry: empty
// values. More than one entry: a failure ("the filter is ambiguous").
// libldap's own configuration files are not read (LDAPNOINIT is set before
// it starts).
webauthn::Result<config::DirectoryValues, LookupFailure> LookUpUser(
    const config::LdapSettings& settings, const std::string& user,
    const std::optional<webauthn::SecretBytes>& password);

}  // namespace tpmauthn::ldap
