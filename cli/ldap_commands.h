// Fleet commands over an LDAP directory:
//   tpmauthn ldap-credentials USER   credential lines from the directory, for
//                                    credentials_command= (exit 75: unreachable)
//   tpmauthn remove USER ID --ldif --dn DN   the LDIF that deletes the value
// (`add ... --ldif` needs no directory and lives with `add`.)
#pragma once

#include <iosfwd>
#include <string>

#include "cli/credential_commands.h"
#include "cli/verb.h"

namespace tpmauthn::cli {

int RunLdapCredentials(const std::string& config_path, const std::string& user,
                       std::ostream& out, std::ostream& err);

int RunRemoveLdif(const std::string& config_path, const std::string& user,
                  const std::string& credential_id, const std::string& dn, std::ostream& out,
                  std::ostream& err);

Verb RegisterLdapCredentials(CLI::App& app);

}  // namespace tpmauthn::cli
