// Changing a credentials file: append (enroll, add, import) and remove, each an
// atomic, durable replacement under a lock so concurrent writers never lose a
// line. Comments, blank lines and the order of other lines are kept verbatim.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/credential.h"
#include "config/safe_file.h"

namespace tpmauthn::config {

// Appends `credentials` (one line each) to `path`, creating it with mode 0644
// if missing. The whole resulting file is validated first: a credential whose
// id is already enrolled, or an existing invalid line, aborts with nothing
// written. `rules` apply to the existing file.
ConfigResult<void> AppendCredentials(const std::string& path,
                                     const std::vector<Credential>& credentials,
                                     const FileRules& rules);

// Removes `user`'s credential whose id is `id_base64url`; returns how many
// lines were removed (an error if none).
ConfigResult<size_t> RemoveCredential(const std::string& path, std::string_view user,
                                      std::string_view id_base64url, const FileRules& rules);

}  // namespace tpmauthn::config
