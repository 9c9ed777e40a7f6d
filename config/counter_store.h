// The relying party's sign counters (/var/lib/tpmauthn/state/): one small file
// per (user, credential) holding the last accepted signCount with a checksum.
// Keyed by the user too, because credential ids are public and a user may
// write any id into a personal credentials file: whatever that user's own key
// signs can then move only that user's counter, never another user's. Updates
// are read-modify-write under a per-credential lock and replace the file
// atomically and durably, so concurrent logins never lose an update and a
// crash never leaves a torn or rolled-back file. A corrupt or truncated file
// is an error — never silently reset to zero.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "config/config_error.h"
#include "webauthn/bytes.h"

namespace tpmauthn::config {

class CounterStore {
 public:
  // `dir` must exist; it should be root-owned and 0700.
  explicit CounterStore(std::string dir) : dir_(std::move(dir)) {}

  // The stored count for `user`'s `credential_id`, or 0 if none has been
  // stored yet (a counter file of tpmauthn 0.1, keyed by the id alone, is
  // the starting point until the first update).
  ConfigResult<uint32_t> Load(std::string_view user, webauthn::ByteView credential_id) const;

  // Under the credential's lock: reads the stored count, calls `next` with it,
  // and stores what `next` returns. The returned value must be greater than the
  // stored one (else nothing is written and the result is an error), except
  // that 0 after 0 (an authenticator without a counter) is accepted and not
  // written; if `next` fails, its error is returned and nothing is written.
  using NextFn = std::function<ConfigResult<uint32_t>(uint32_t stored)>;
  ConfigResult<uint32_t> Advance(std::string_view user, webauthn::ByteView credential_id,
                                 const NextFn& next) const;

  // The file that holds `user`'s counter for `credential_id`.
  std::string PathFor(std::string_view user, webauthn::ByteView credential_id) const;
  // Where tpmauthn 0.1 kept it (by credential id alone); read, never written.
  std::string LegacyPathFor(webauthn::ByteView credential_id) const;

 private:
  ConfigResult<uint32_t> ReadLocked(const std::string& path) const;
  ConfigResult<uint32_t> ReadWithLegacy(std::string_view user, webauthn::ByteView id) const;
  std::string dir_;
};

}  // namespace tpmauthn::config
