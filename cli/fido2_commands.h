// enroll --authenticator fido2: a credential on a roaming security key.
#pragma once

#include <ostream>

#include "cli/tpm_commands.h"
#include "cli/verb.h"

namespace tpmauthn::cli {

int RunEnrollFido2(const CredentialFileArgs& file, const EnrollArgs& args, std::ostream& out,
                   std::ostream& err);

}  // namespace tpmauthn::cli
