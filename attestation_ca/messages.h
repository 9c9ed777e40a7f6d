// The files a TPM's owner and the attestation CA exchange (over scp, mail,
// anything): JSON, byte strings in base64url, unknown members refused.
//
//   request  {"format": "tpmauthn-attestation-request", "version": 1,
//             "ekCertificate", "ekPublic" (TPM2B_PUBLIC), "akPublic"
//             (TPM2B_PUBLIC), "manufacturer", "model", "firmwareVersion"}
//   response {"format": "tpmauthn-attestation-response", "version": 1,
//             "akName", "idObject" (TPM2B_ID_OBJECT), "encryptedSecret"
//             (TPM2B_ENCRYPTED_SECRET), "iv", "encryptedCertificate"}
//
// encryptedCertificate is the AIK certificate (DER), AES-256-GCM under
// HKDF-SHA-256(the sealed credential, info "tpmauthn AIK certificate"),
// the 16-byte tag appended: only the TPM that holds the EK and the AK can
// unseal the credential (TPM2_ActivateCredential), so only it gets the
// certificate.
#pragma once

#include <string>
#include <string_view>

#include "attestation_ca/ca_error.h"
#include "webauthn/bytes.h"
#include "webauthn/secret.h"

namespace tpmauthn::attestation_ca {

struct AttestationRequest {
  webauthn::Bytes ek_certificate;  // DER
  webauthn::Bytes ek_public;       // marshalled TPM2B_PUBLIC
  webauthn::Bytes ak_public;       // marshalled TPM2B_PUBLIC
  std::string manufacturer;        // "id:XXXXXXXX" (TPM2_PT_MANUFACTURER)
  std::string model;               // TPM2_PT_VENDOR_STRING_1..4
  std::string firmware_version;    // "id:XXXXXXXX" (TPM2_PT_FIRMWARE_VERSION_1)
};

struct AttestationResponse {
  webauthn::Bytes ak_name;
  webauthn::Bytes id_object;
  webauthn::Bytes encrypted_secret;
  webauthn::Bytes iv;                     // 12 bytes
  webauthn::Bytes encrypted_certificate;  // ciphertext ‖ 16-byte tag
};

std::string SerializeRequest(const AttestationRequest& request);
CaResult<AttestationRequest> ParseRequest(std::string_view json);
std::string SerializeResponse(const AttestationResponse& response);
CaResult<AttestationResponse> ParseResponse(std::string_view json);

// Encrypts / decrypts the certificate as described above.
CaResult<webauthn::Bytes> SealCertificate(const webauthn::SecretBytes& credential,
                                          webauthn::ByteView certificate, webauthn::ByteView iv);
CaResult<webauthn::Bytes> OpenCertificate(const webauthn::SecretBytes& credential,
                                          const AttestationResponse& response);

}  // namespace tpmauthn::attestation_ca
