// The last good answer of credentials_command per user, in the state
// directory (<state>/directory/<hash of the user>.lines, root's, 0600,
// replaced atomically under a lock, as counters are). Read only when the
// directory is unreachable, and only while younger than cache_max_age; a
// corrupt or future-dated entry is an error, never "no credentials". Only
// answers that hold credentials are stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_error.h"

namespace tpmauthn::config {

struct CachedAnswer {
  std::string lines;    // the command's output, as it printed it
  int64_t age_seconds;  // since it was stored
};

// Stores `lines` for `user`, stamped with the wall clock `now` (seconds).
ConfigResult<void> StoreDirectoryAnswer(const std::string& state_dir, const std::string& user,
                                        std::string_view lines, int64_t now);

// Forgets the stored answer for `user` (none stored: nothing to do). For an
// answer with no credentials, which is never stored (names that exist
// nowhere must not fill the state directory), and after a failed store (an
// old answer must not outlive a newer one that removed a credential).
ConfigResult<void> ForgetDirectoryAnswer(const std::string& state_dir, const std::string& user);

// The stored answer for `user`, nullopt if none.
ConfigResult<std::optional<CachedAnswer>> LoadDirectoryAnswer(const std::string& state_dir,
                                                              const std::string& user,
                                                              int64_t now);

}  // namespace tpmauthn::config
