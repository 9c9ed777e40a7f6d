// Builds "tpm" attestation registrations in software (tests only): a
// credential key, its TPMT_PUBLIC, a TPMS_ATTEST certifying it, an AIK and its
// certificate from a test CA — every part made the way a TPM and an
// attestation CA make it, with switches that break one WebAuthn §8.3 / §8.3.1
// rule at a time while everything after it stays consistent (the broken part
// is re-signed), so a test shows that exactly that rule catches it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "webauthn/openssl_ptr.h"
#include "webauthn/registration_verifier.h"
#include "webauthn/tpm_attestation.h"

namespace tpmauthn::testing {

struct TpmBreaks {
  std::string ver = "2.0";
  std::optional<int64_t> alg;                  // the statement's alg (default: the AIK's)
  bool truncate_pub_area = false;
  bool pub_area_other_key = false;             // pubArea holds another key (certified as such)
  bool truncate_cert_info = false;
  std::optional<uint32_t> magic;
  std::optional<uint16_t> attest_type;
  bool extra_data_of_other_data = false;       // hash of different authData
  bool name_of_other_pub_area = false;         // attested name of a different pubArea
  bool name_alg_unknown = false;               // pubArea nameAlg not a hash (and name to match)
  bool bad_sig = false;
  long cert_version = 2;                       // X.509 v3; 1: v2
  bool cert_subject = false;                   // a non-empty subject
  bool san_missing = false, san_not_critical = false, san_without_model = false;
  std::string manufacturer = "id:49424D00";
  bool eku_missing = false;
  bool basic_constraints_missing = false, ca_true = false;
  std::optional<std::array<uint8_t, 16>> aaguid_extension;  // value in the AIK cert
  bool aaguid_extension_critical = false;
  bool corrupt_intermediate = false;           // x5c[0] not signed by x5c[1]
  bool fixed_tpm = true;                       // objectAttributes fixedTPM|fixedParent|sensitiveDataOrigin
};

class TpmAttestationBuilder {
 public:
  // `rsa`: an RSA-2048 credential key and AIK (RS256); else P-256 (ES256).
  // The AIK certificate is issued by an intermediate CA, issued by a root.
  explicit TpmAttestationBuilder(bool rsa = false);

  webauthn::RegistrationResponse Make(std::string_view rp_id, std::string_view origin,
                                      webauthn::ByteView challenge,
                                      const TpmBreaks& breaks = {}) const;

  const webauthn::Bytes& root_der() const { return root_der_; }
  const webauthn::Bytes& intermediate_der() const { return intermediate_der_; }
  // Another root, which signed nothing here.
  const webauthn::Bytes& stranger_der() const { return stranger_der_; }

 private:
  bool rsa_;
  webauthn::EvpPkeyPtr credential_key_, other_key_, aik_, root_key_, intermediate_key_;
  webauthn::Bytes root_der_, intermediate_der_, stranger_der_;
};

}  // namespace tpmauthn::testing
