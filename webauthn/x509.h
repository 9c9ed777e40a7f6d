// X.509 pieces shared by the attestation formats (packed §8.2, tpm §8.3).
// Pure: certificates come in as DER bytes; nothing is read from disk.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "webauthn/authenticator_data.h"
#include "webauthn/bytes.h"
#include "webauthn/openssl_ptr.h"

namespace tpmauthn::webauthn {

// One DER certificate, no trailing bytes; null otherwise.
X509Ptr ParseCertificate(ByteView der);

// Every DER certificate of `x5c` parsed; nullopt if one does not parse.
std::optional<std::vector<X509Ptr>> ParseChain(const std::vector<Bytes>& x5c);

// id-fido-gen-ce-aaguid (1.3.6.1.4.1.45724.1.1.4): absent, or non-critical
// and equal to authData's AAGUID. The problem, or nullopt.
std::optional<std::string> AaguidExtensionProblem(X509* cert, const AuthenticatorData& auth_data);

// Each certificate signed by the next; the last, when self-issued, by
// itself. The problem, or nullopt.
std::optional<std::string> ChainSignatureProblem(const std::vector<X509Ptr>& chain);

// Validates chain[0] up to one of `anchors` (DER; a root, or an intermediate
// the caller trusts as such) with chain[1..] as untrusted intermediates, at
// time `at` (now when unset): OpenSSL's path validation (signatures, validity
// periods, CA flags, path length). The problem, or nullopt.
std::optional<std::string> ChainToAnchorProblem(const std::vector<X509Ptr>& chain,
                                                const std::vector<Bytes>& anchors,
                                                std::optional<std::time_t> at);

}  // namespace tpmauthn::webauthn
