// The sealed key store: one file per credential under /var/lib/tpmauthn/keys/
// (0700, root), named by the base64url credential id, mode 0600, replaced
// atomically. A file holds the TPM-wrapped key (TPM2B_PUBLIC and TPM2B_PRIVATE
// marshalled with Tss2_MU) and its metadata. The private part is encrypted by
// the SRK's seed inside the TPM: the file is useless on any other TPM and gives
// no way to test a PIN offline.
//
// Format (JSON, "format": "tpmauthn-key", "version": 1 or 2):
//   credentialId, rpId, user, userHandle, label, created, srkName, public,
//   private, uv ("pin"|"none"), pinSalt, pcrs ([indices], SHA-256 bank),
//   counter — byte strings in base64url; version 2 (a PIN credential made
//   since 0.2) adds pinIndex (the NV handle), pinIndexName (its Name,
//   checked before the PIN is sent) and pinTries. Either version may have
//   counterIndex (the TPM NV counter's handle, tpm/nv_counter.h) with
//   counterOffset (its value at enrollment): signCount comes from the TPM,
//   and counter only echoes the last one released. Unknown members are errors.
//
// Credential ids are 32 random bytes, not the wrapped blob: the id travels to
// relying parties (and over SSH), so it should reveal nothing and stay small;
// the store gives each credential a place for its sign counter and metadata;
// and deleting the file revokes the credential on this machine for good.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tpm/tpm_error.h"
#include "webauthn/bytes.h"

namespace tpmauthn::tpm {

inline constexpr size_t kCredentialIdSize = 32;

// Takes the next signature counter value (KeyStore::WithNextCounter).
using CounterTaker = std::function<TpmResult<uint32_t>()>;

struct KeyRecord {
  webauthn::Bytes credential_id;
  std::string rp_id;
  std::string user;  // the local account it was enrolled for
  webauthn::Bytes user_handle;
  std::string label;
  std::string created;  // YYYY-MM-DD
  webauthn::Bytes srk_name;
  webauthn::Bytes public_blob;   // marshalled TPM2B_PUBLIC
  webauthn::Bytes private_blob;  // marshalled TPM2B_PRIVATE
  bool pin = true;               // uv=pin: the key's authValue comes from a PIN
  webauthn::Bytes pin_salt;
  std::vector<uint32_t> pcrs;    // SHA-256 PCRs in the key's policy (empty: none)
  uint32_t counter = 0;          // last signCount released
  // The PIN's own NV index (version 2, tpm/pin_index.h); 0: a legacy key
  // whose authValue is the PIN, under the TPM's dictionary-attack counter.
  uint32_t pin_index = 0;
  webauthn::Bytes pin_index_name;
  uint32_t pin_tries = 0;        // its pinLimit, kept for reset-pin
  // The TPM sign counter (tpm/nv_counter.h); 0: the counter above is the
  // source, kept in this file.
  uint32_t counter_index = 0;
  uint64_t counter_offset = 0;
};

class KeyStore {
 public:
  explicit KeyStore(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string PathFor(webauthn::ByteView credential_id) const;

  // Writes a new record (creating the directory 0700 if needed); refuses to
  // overwrite an existing credential.
  TpmResult<void> Create(const KeyRecord& record) const;
  TpmResult<KeyRecord> Load(webauthn::ByteView credential_id) const;
  // Every record in the store (a broken file is an error naming it).
  TpmResult<std::vector<KeyRecord>> List() const;
  TpmResult<void> Remove(webauthn::ByteView credential_id) const;

  // A file of the store that is not a credential ("attestation.json"), with
  // the same checks as key files: its text, or nullopt when missing.
  TpmResult<std::optional<std::string>> ReadStoreFile(const std::string& name) const;
  // Replaces it atomically (0600), creating the directory if needed.
  TpmResult<void> WriteStoreFile(const std::string& name, std::string_view contents) const;

  // Under the credential's lock: reloads the record and runs
  // `sign(record, take)`. `take()` gets a counter value from `next`
  // (TpmResult<uint32_t>(const KeyRecord&)); `sign` calls it as late as it
  // can (after the PIN is proven), so a refused try takes none. If `sign`
  // succeeds, the last value taken is stored durably before returning — so a
  // released signature's counter is never reused.
  template <typename Next, typename Fn>
  auto WithNextCounter(webauthn::ByteView credential_id, Next&& next, Fn&& sign) const
      -> decltype(sign(std::declval<const KeyRecord&>(), std::declval<const CounterTaker&>()));

  // Runs `fn` under the credential's lock (the one WithNextCounter holds).
  template <typename Fn>
  auto WithLock(webauthn::ByteView credential_id, Fn&& fn) const -> decltype(fn());

 private:
  TpmResult<void> Write(const KeyRecord& record) const;
  TpmResult<int> Lock(webauthn::ByteView credential_id) const;
  std::string dir_;
};

TpmResult<KeyRecord> ParseKeyRecord(std::string_view json, const std::string& name);
std::string SerializeKeyRecord(const KeyRecord& record);

void UnlockFd(int fd);

// The next counter of a credential that keeps it in its key file.
inline TpmResult<uint32_t> NextFileCounter(const KeyRecord& record) {
  if (record.counter == UINT32_MAX) {
    return TpmFail(TpmErrorKind::kStore, "signature counter exhausted; re-enroll");
  }
  return record.counter + 1;
}

template <typename Next, typename Fn>
auto KeyStore::WithNextCounter(webauthn::ByteView credential_id, Next&& next, Fn&& sign) const
    -> decltype(sign(std::declval<const KeyRecord&>(), std::declval<const CounterTaker&>())) {
  using Out =
      decltype(sign(std::declval<const KeyRecord&>(), std::declval<const CounterTaker&>()));
  return WithLock(credential_id, [&]() -> Out {
    auto record = Load(credential_id);
    if (!record) return record.error();
    std::optional<uint32_t> taken;
    const CounterTaker take = [&]() -> TpmResult<uint32_t> {
      TpmResult<uint32_t> counter = next(*record);
      if (counter) taken = *counter;
      return counter;
    };
    auto result = sign(*record, take);
    if (!result) return result;
    if (!taken) return TpmFail(TpmErrorKind::kStore, "signed without a counter");
    record->counter = *taken;
    if (auto ok = Write(*record); !ok) return ok.error();
    return result;
  });
}

template <typename Fn>
auto KeyStore::WithLock(webauthn::ByteView credential_id, Fn&& fn) const -> decltype(fn()) {
  auto lock = Lock(credential_id);
  if (!lock) return lock.error();
  struct Unlock {
    int fd;
    ~Unlock() { UnlockFd(fd); }
  } unlock{*lock};
  return fn();
}

}  // namespace tpmauthn::tpm
