// A user's directory attribute values as credential lines, for
// `tpmauthn ldap-credentials` (the LDAP side lives in ldap/; this is pure).
//
//   credential_attribute: a whole credential line, as in the credentials file
//     (tpmauthn-credentials(5)); its user field must be the user looked up.
//   passkey_attribute: SSSD's "passkey:<base64 credential id>,<base64 DER
//     SubjectPublicKeyInfo>" (standard base64, as SSSD/FreeIPA store them);
//     becomes a `fido2` line for passkey_rp_id, the key as a COSE_Key. SSSD's
//     other passkey forms (none in use for FIDO2 keys) are refused by name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/credential.h"

namespace tpmauthn::config {

struct DirectoryValues {
  std::vector<std::string> credential_lines;  // credential_attribute values
  std::vector<std::string> passkeys;          // passkey_attribute values
  // The filter matched an entry whose user_attribute does not name the user
  // exactly (then the lists are empty).
  bool not_this_user = false;
};

struct PasskeyDefaults {
  std::optional<std::string> rp_id;  // passkey_rp_id
  bool require_uv = true;            // passkey_uv
  std::string created;               // YYYY-MM-DD for the lines
};

// Every value as a validated credential of `user`, in order: the lines, then
// the passkeys. A malformed value is an error naming the attribute and its
// position; a line for another user too; a passkey without passkey_rp_id too.
ConfigResult<std::vector<Credential>> CredentialsFromDirectory(const DirectoryValues& values,
                                                               const std::string& user,
                                                               const PasskeyDefaults& passkeys);

// One SSSD passkey value as a credential of `user` (see above).
ConfigResult<Credential> ParseSssdPasskey(std::string_view value, const std::string& user,
                                          const PasskeyDefaults& passkeys);

}  // namespace tpmauthn::config
