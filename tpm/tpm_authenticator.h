// The TPM2 platform authenticator (a Windows-Hello-style authenticator on
// TPM2-TSS ESAPI). makeCredential creates an ES256 (P-256) or RS256 (RSA
// 2048) key under the SRK and answers with packed self-attestation or "tpm"
// attestation; getAssertion signs authenticatorData ‖ clientDataHash in the
// TPM. It speaks only WebAuthn bytes; relying-party
// checks are elsewhere.
//
// Key attributes: fixedTPM|fixedParent|sensitiveDataOrigin|sign. How the PIN
// guards the key (PinScheme):
// - kPinIndex (every new PIN credential): the PIN is the authValue of the
//   credential's own TPM_NT_PIN_FAIL index (tpm/pin_index.h); the key is
//   noDA, has no userWithAuth and no authValue, and its authPolicy is
//   [PolicyPCR ∧] PolicySecret(index). Wrong PINs count against that index
//   only, never the TPM's dictionary-attack counter.
// - kLegacyDa (keys made before 0.2; tests still make them to prove they keep
//   working): the PIN-derived authValue is the key's own; userWithAuth (or
//   PolicyPCR ∧ PolicyAuthValue with PCRs); every wrong PIN counts towards
//   the TPM's machine-wide lockout.
// Keys without a PIN are noDA with userWithAuth and an empty authValue.
//
// Every authValue travels only inside an HMAC session salted to the SRK
// (whose name is checked first). Every transient object and session is
// flushed on every path.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tpm/attestation_key.h"
#include "tpm/connection.h"
#include "tpm/key_store.h"
#include "tpm/nv_counter.h"
#include "tpm/pin_index.h"
#include "webauthn/secret.h"
#include "tpm/tpm_error.h"
#include "webauthn/bytes.h"

namespace tpmauthn::tpm {

using webauthn::SecretBytes;

// tpmauthn's AAGUID, 5ee9ff71-0c9f-46b2-8c52-b12ecab497d6 (random, fixed).
inline constexpr std::array<uint8_t, 16> kAaguid = {0x5e, 0xe9, 0xff, 0x71, 0x0c, 0x9f,
                                                    0x46, 0xb2, 0x8c, 0x52, 0xb1, 0x2e,
                                                    0xca, 0xb4, 0x97, 0xd6};

struct MakeCredentialRequest {
  std::string rp_id;
  webauthn::Bytes client_data_hash;  // SHA-256(clientDataJSON)
  std::string user;                  // local account name
  webauthn::Bytes user_handle;
  std::string label;
  bool pin = true;                   // false: no user verification (uv=none)
  uint32_t pin_tries = kPinTriesDefault;  // the PIN index's limit (kPinTriesMin-Max)
  enum class PinScheme { kPinIndex, kLegacyDa } scheme = PinScheme::kPinIndex;
  std::vector<uint32_t> pcrs;        // bind to these SHA-256 PCRs' current values
  // Where signCount comes from: the key file, or the TPM's NV counter at
  // `counter_index` (tpm/nv_counter.h; defined at first use). kTpmOrFile:
  // the TPM's unless it refuses to give one (owner authorization set, NV
  // full, the handle taken), then the key file's, said in counter_note.
  enum class Counter { kFile, kTpm, kTpmOrFile } counter = Counter::kFile;
  TPM2_HANDLE counter_index = kSignCounterIndex;
  // kSelf: packed self attestation. kTpm: the "tpm" format (WebAuthn L3
  // §8.3): TPM2_Certify of the new key by the attestation key, with the AIK
  // certificate chain installed in the store (tpm/attestation_key.h).
  enum class Attestation { kSelf, kTpm } attestation = Attestation::kSelf;
  // The credential key: ES256 (ECDSA P-256, SHA-256) or RS256 (RSA 2048,
  // RSASSA-PKCS1-v1_5 with SHA-256, for relying parties that need an RSA key).
  enum class Algorithm { kEs256, kRs256 } algorithm = Algorithm::kEs256;
  std::optional<webauthn::Bytes> pin_salt_for_testing;
};

struct MadeCredential {
  webauthn::Bytes credential_id;
  webauthn::Bytes authenticator_data;
  webauthn::Bytes attestation_object;  // packed self attestation (the key's alg), or tpm (alg -257)
  webauthn::Bytes public_key;          // COSE_Key
  bool tpm_counter = false;            // signCount comes from the TPM's NV counter
  std::string counter_note;            // kTpmOrFile fell back: why
};

struct AssertionRequest {
  std::string rp_id;
  webauthn::Bytes client_data_hash;
  webauthn::Bytes credential_id;
};

struct MadeAssertion {
  webauthn::Bytes credential_id;
  webauthn::Bytes authenticator_data;
  webauthn::Bytes signature;  // ES256: DER ECDSA-Sig-Value; RS256: the RSASSA signature
  webauthn::Bytes user_handle;
  uint32_t counter = 0;
};

// The TPM's dictionary-attack state (TPM2_PT_LOCKOUT_* properties).
struct LockoutStatus {
  bool in_lockout = false;
  uint32_t failures = 0;           // TPM2_PT_LOCKOUT_COUNTER
  uint32_t max_failures = 0;       // TPM2_PT_MAX_AUTH_FAIL
  uint32_t interval_seconds = 0;   // TPM2_PT_LOCKOUT_INTERVAL: one failure forgiven per interval
  uint32_t recovery_seconds = 0;   // TPM2_PT_LOCKOUT_RECOVERY (lockout hierarchy)
  bool lockout_auth_set = false;   // TPMA_PERMANENT_LOCKOUTAUTHSET: resetting needs a secret
  uint32_t tries_left() const { return failures >= max_failures ? 0 : max_failures - failures; }
};

// A credential's PIN as the TPM keeps it.
struct PinStatus {
  bool per_credential = false;     // kPinIndex; false: legacy-da (the TPM's lockout counter)
  std::optional<PinCounter> counter;  // per_credential, when the owner may read it
};

class TpmAuthenticator {
 public:
  TpmAuthenticator(Connection& connection, const KeyStore& store)
      : connection_(connection), store_(store) {}

  // Creates the key (and the SRK if the TPM has none), self-attests, and
  // stores the record. `pin` is ignored when request.pin is false.
  TpmResult<MadeCredential> MakeCredential(const MakeCredentialRequest& request,
                                           const SecretBytes& pin);

  // Signs for a stored credential. The record's rp_id must equal request.rp_id.
  // `pin` is required for uv=pin credentials. The counter (the key file's
  // + 1, or the TPM counter incremented, minus the credential's offset) is
  // stored before the signature is returned; a TPM counter that is missing,
  // foreign or rate-limited fails the assertion, never falls back. A wrong PIN fills tries_left; lockout fills
  // recovery_seconds.
  TpmResult<MadeAssertion> GetAssertion(const AssertionRequest& request, const SecretBytes* pin);

  TpmResult<LockoutStatus> ReadLockoutStatus();

  // The PIN state of a stored credential (no PIN needed, no try spent).
  TpmResult<PinStatus> ReadPinStatus(const KeyRecord& record);

  // A new PIN for a per-credential-PIN credential, blocked or not, without
  // the old one: its index is deleted and defined again at the same handle
  // with the same attributes, policy and limit — the same Name, so the same
  // key, credential id and public key — and a count of 0. Needs the TPM's
  // owner authorization (empty); for root.
  TpmResult<void> ResetPin(webauthn::ByteView credential_id, const SecretBytes& new_pin);

  // As ResetPin after the TPM has accepted `current` (a wrong one counts
  // as a failure, as at login, and changes nothing).
  TpmResult<void> ChangePin(webauthn::ByteView credential_id, const SecretBytes& current,
                            const SecretBytes& new_pin);

  // Deletes the credential's PIN index (if it has one and it is still
  // there) and its key-store file.
  TpmResult<void> RemoveCredential(webauthn::ByteView credential_id);

 private:
  TpmError Annotate(TpmError error);
  // One try at the TPM part of MakeCredential: fills record's SRK name and
  // blobs. Holds no handle once it returns, so a busy TPM can be retried.
  TpmResult<MadeCredential> CreateAndSelfAttest(const MakeCredentialRequest& request,
                                                const TPM2B_AUTH& auth, KeyRecord& record,
                                                const AttestationKeyRecord* ak);
  // One try at the TPM part of GetAssertion: SRK check, salted session,
  // Load, Sign, flush (5 commands; a per-credential PIN adds NV_ReadPublic,
  // a policy session and PolicySecret: 8; the TPM counter 4 more). `digest`
  // is asked for right before TPM2_Sign — after PolicySecret
  // accepted the PIN, for a per-credential-PIN key.
  using DigestSource = std::function<TpmResult<webauthn::Bytes>()>;
  TpmResult<webauthn::Bytes> SignWithKey(const KeyRecord& record, const DigestSource& digest,
                                         const SecretBytes* pin);
  // Signs `digest` with the loaded `key` of a kPinIndex credential:
  // [PolicyPCR,] PolicySecret(index, auth), digest(), Sign. `key_type` is
  // the key's TPM_ALG_ECC or TPM_ALG_RSA.
  TpmResult<webauthn::Bytes> SignWithPinIndex(const Srk& srk, ESYS_TR key, TPMI_ALG_PUBLIC key_type,
                                              const KeyRecord& record, const TPM2B_AUTH& auth,
                                              const DigestSource& digest);
  TpmResult<void> ResetPinLocked(webauthn::ByteView credential_id, const SecretBytes& new_pin);
  TpmResult<void> ChangePinLocked(webauthn::ByteView credential_id, const SecretBytes& current,
                                  const SecretBytes& new_pin);
  // Defines the index again at record's handle with `auth` (ResetPin's core).
  TpmResult<void> RedefinePinIndex(const KeyRecord& record, const Srk& srk, ESYS_TR* index,
                                   const SecretBytes& new_pin);
  Connection& connection_;
  const KeyStore& store_;
};

}  // namespace tpmauthn::tpm
