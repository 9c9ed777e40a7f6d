// What a relying party demands of a registration's attestation (`tpmauthn
// add --require-attestation`), and the trust anchors it checks chains with.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "webauthn/bytes.h"
#include "webauthn/registration_verifier.h"

namespace tpmauthn::config {

enum class AttestationRequirement {
  kNone,  // any statement that verifies, "none" included (the default)
  kSelf,  // not "none": the registration is signed at least by the credential key itself
  kTpm,   // fmt "tpm", its AIK chain ending at a trust anchor, and a key that can
          // never leave that TPM (fixedTPM, fixedParent, sensitiveDataOrigin)
};

std::optional<AttestationRequirement> ParseAttestationRequirement(std::string_view text);

// Why `verified` does not meet `requirement`, or nullopt if it does.
std::optional<std::string> AttestationShortfall(const webauthn::VerifiedRegistration& verified,
                                                AttestationRequirement requirement);

// Every certificate in DIR's *.pem, *.crt and *.der files (PEM files may hold
// several), as DER. The directory (and every one above it) and each file
// must be root's or the caller's (effective uid) and not writable by others:
// an admin may run the attestation CA as an ordinary user. A relative DIR is
// taken from the current directory. A file that holds no certificate, or one
// that does not parse, is an error naming it; so is a directory without any.
ConfigResult<std::vector<webauthn::Bytes>> LoadTrustAnchors(const std::string& dir);

}  // namespace tpmauthn::config
