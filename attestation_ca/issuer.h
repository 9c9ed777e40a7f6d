// The attestation CA (a fleet admin's, offline): decides whether a request
// comes from a genuine TPM and issues the AIK certificate WebAuthn §8.3.1
// asks for. Pure: keys and certificates in, bytes out; the CLI does the files.
//
// Issue() refuses, with the reason, unless:
// - the EK certificate chains to one of the admin's EK roots (the TPM makers'
//   CAs, or swtpm_localca's in tests) and is valid now;
// - the EK public area is an RSA restricted decryption key (fixedTPM,
//   fixedParent, not sign) whose modulus is the certificate's;
// - the AK is an RSA 2048 restricted signing key (fixedTPM, fixedParent,
//   sensitiveDataOrigin, RSASSA-SHA-256, not decrypt) — the TPM itself checks
//   none of this in TPM2_ActivateCredential, so the CA must;
// - the manufacturer and firmware version read "id:XXXXXXXX" and the model is
//   1-16 printable characters. These three come from the TPM's properties as
//   the requester reports them: they name the chip in the certificate, they
//   prove nothing on their own.
// It then seals a random credential to (EK, AK Name) and encrypts the
// certificate under it (messages.h): only the TPM holding that EK and AK can
// read it. The certificate: X.509 v3, empty subject, a critical TCG SAN
// (directoryName: tcg-at-tpmManufacturer 2.23.133.2.1, tpmModel 2.23.133.2.2,
// tpmVersion 2.23.133.2.3), EKU tcg-kp-AIKCertificate 2.23.133.8.3,
// basicConstraints CA:FALSE (critical), keyUsage digitalSignature, the CA's
// key identifier, 16 random serial bytes, valid from an hour ago for
// `days`.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "attestation_ca/ca_error.h"
#include "attestation_ca/messages.h"
#include "webauthn/bytes.h"
#include "webauthn/openssl_ptr.h"

namespace tpmauthn::attestation_ca {

struct CaMaterial {
  webauthn::EvpPkeyPtr key;          // RSA 2048 (the AIKs are RSA)
  webauthn::X509Ptr certificate;     // self-signed, CA:TRUE
};

// A new CA named `common_name`, valid for 20 years.
CaResult<CaMaterial> GenerateCa(const std::string& common_name);
std::string PrivateKeyPem(const CaMaterial& ca);
std::string CertificatePem(const CaMaterial& ca);
CaResult<CaMaterial> LoadCa(std::string_view key_pem, std::string_view certificate_pem);

struct Issued {
  AttestationResponse response;
  webauthn::Bytes certificate;  // the AIK certificate, DER (kept by the CA as a record)
};
CaResult<Issued> Issue(const CaMaterial& ca, const std::vector<webauthn::Bytes>& ek_roots,
                       const AttestationRequest& request, std::time_t now, long days = 3650);

}  // namespace tpmauthn::attestation_ca
