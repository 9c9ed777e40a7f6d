// A software authenticator for tests and benchmarks only, after Chromium's
// VirtualFidoDevice: real keys, real signatures, and fault switches that make it
// misbehave the ways relying-party checks must catch. Never linked into the
// PAM module or the CLI.
#pragma once

#include <optional>
#include <string>

#include "webauthn/assertion_verifier.h"
#include "webauthn/cose_key.h"
#include "webauthn/openssl_ptr.h"
#include "webauthn/registration_verifier.h"

namespace tpmauthn::testing {

// A signature by `key` under `alg` (ES256 as DER), as an authenticator makes it.
webauthn::Bytes SignWith(EVP_PKEY* key, webauthn::CoseAlgorithm alg, webauthn::ByteView data);

struct Faults {
  bool bad_signature = false;         // flip a bit of the signed data before signing
  bool raw_signature = false;         // ES256 r||s instead of DER
  bool clear_user_present = false;
  bool clear_user_verified = false;
  bool wrong_rp_id_hash = false;      // hash of "evil.example" instead of the RP ID
  bool backup_state_without_eligible = false;
  std::optional<uint32_t> counter;    // report this count instead of the next one
  std::string client_data_prefix;     // bytes before clientDataJSON (signed), e.g. a BOM
  bool corrupt_batch_certificate = false;  // flip a byte of the batch certificate's signature
};

class VirtualAuthenticator {
 public:
  explicit VirtualAuthenticator(webauthn::CoseAlgorithm alg = webauthn::CoseAlgorithm::kES256);

  // From now on, registrations carry packed "basic" attestation: signed by a
  // P-256 batch key whose self-signed certificate (§8.2.1 fields) is the x5c.
  void UseBatchAttestation();

  // A packed self-attested registration for `rp_id`, client data for `origin`.
  webauthn::RegistrationResponse MakeCredential(std::string_view rp_id, std::string_view origin,
                                                webauthn::ByteView challenge);
  // An assertion with the next counter value (unless faults say otherwise).
  webauthn::AssertionResponse GetAssertion(std::string_view rp_id, std::string_view origin,
                                           webauthn::ByteView challenge,
                                           std::optional<webauthn::Bytes> user_handle = {});

  webauthn::CredentialRecord Record() const;
  const webauthn::Bytes& credential_id() const { return credential_id_; }
  uint32_t counter() const { return counter_; }

  Faults faults;

 private:
  webauthn::Bytes Sign(webauthn::ByteView message) const;
  webauthn::AuthenticatorData BaseAuthData(std::string_view rp_id) const;

  webauthn::CoseAlgorithm alg_;
  webauthn::EvpPkeyPtr key_;
  webauthn::EvpPkeyPtr batch_key_;  // set by UseBatchAttestation
  webauthn::Bytes batch_certificate_;
  webauthn::Bytes credential_id_;
  webauthn::Bytes cose_key_;
  uint32_t counter_ = 0;
};

}  // namespace tpmauthn::testing
