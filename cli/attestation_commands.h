// "tpm" attestation without a vendor's cloud (WebAuthn L3 §8.3):
//   tpmauthn attestation-ca init DIR [--name CN]   a new attestation CA (admin)
//   tpmauthn attestation-ca issue DIR REQUEST [--out FILE]
//                                                  check a TPM, issue its AIK certificate
//   tpmauthn attestation-key request [--out FILE]  this TPM's request (creates the AK once)
//   tpmauthn attestation-key install RESPONSE      unseal and keep the AIK certificate
// Then `enroll --attestation tpm` certifies each new credential key with the AK.
#pragma once

#include "cli/verb.h"

namespace tpmauthn::cli {

Verb RegisterAttestationCa(CLI::App& app);
Verb RegisterAttestationKey(CLI::App& app);

}  // namespace tpmauthn::cli
