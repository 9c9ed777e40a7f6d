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
//   checked before the PIN is sent) and pinTries. Unknown members are errors.
//
// Credential ids are 32 random bytes, not the wrapped blob: the id travels to
// relying parties (and over SSH), so it should reveal nothing and stay small;
// the store gives each credential a place for its sign counter and metadata;
// and deleting the file revokes the credential on this machine for good.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tpm/tpm_error.h"
#include "webauthn/bytes.h"

namespace tpmauthn::tpm {

inline constexpr size_t kCredentialIdSize = 32;

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

  // Under the credential's lock: reloads the record, gives `sign` the next
  // counter value, and if it succeeds stores that value durably before
  // returning — so a released signature's counter is never reused.
  template <typename Fn>
  auto WithNextCounter(webauthn::ByteView credential_id, Fn&& sign) const
      -> decltype(sign(std::declval<const KeyRecord&>(), uint32_t{}));

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

template <typename Fn>
auto KeyStore::WithNextCounter(webauthn::ByteView credential_id, Fn&& sign) const
    -> decltype(sign(std::declval<const KeyRecord&>(), uint32_t{})) {
  using Out = decltype(sign(std::declval<const KeyRecord&>(), uint32_t{}));
  return WithLock(credential_id, [&]() -> Out {
    auto record = Load(credential_id);
    if (!record) return record.error();
    if (record->counter == UINT32_MAX) {
      return TpmFail(TpmErrorKind::kStore, "signature counter exhausted; re-enroll");
    }
    const uint32_t next = record->counter + 1;
    auto result = sign(*record, next);
    if (!result) return result;
    record->counter = next;
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
