// The relying party's sign counters (/var/lib/tpmauthn/state/): one small file
// per credential holding the last accepted signCount with a checksum. Updates
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

  // The stored count for `credential_id`, or 0 if none has been stored yet.
  ConfigResult<uint32_t> Load(webauthn::ByteView credential_id) const;

  // Under the credential's lock: reads the stored count, calls `next` with it,
  // and stores what `next` returns. The returned value must be greater than the
  // stored one (else nothing is written and the result is an error), except
  // that 0 after 0 (an authenticator without a counter) is accepted and not
  // written; if `next` fails, its error is returned and nothing is written.
  using NextFn = std::function<ConfigResult<uint32_t>(uint32_t stored)>;
  ConfigResult<uint32_t> Advance(webauthn::ByteView credential_id, const NextFn& next) const;

  // The file that holds `credential_id`'s counter.
  std::string PathFor(webauthn::ByteView credential_id) const;

 private:
  ConfigResult<uint32_t> ReadLocked(const std::string& path) const;
  std::string dir_;
};

}  // namespace tpmauthn::config
