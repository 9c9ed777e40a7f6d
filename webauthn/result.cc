// Stable names for failed checks, as printed in verdicts and logs.
#include "webauthn/result.h"

#include <ostream>

namespace tpmauthn::webauthn {

std::string_view ToString(Check check) {
  switch (check) {
    case Check::kResponse: return "response";
    case Check::kEncoding: return "encoding";
    case Check::kClientData: return "clientDataJSON";
    case Check::kType: return "type";
    case Check::kChallenge: return "challenge";
    case Check::kOrigin: return "origin";
    case Check::kCrossOrigin: return "crossOrigin";
    case Check::kTopOrigin: return "topOrigin";
    case Check::kAuthenticatorData: return "authenticatorData";
    case Check::kAttestationObject: return "attestationObject";
    case Check::kAttestationStatement: return "attestationStatement";
    case Check::kPublicKey: return "publicKey";
    case Check::kRpIdHash: return "rpIdHash";
    case Check::kUserPresent: return "userPresent";
    case Check::kUserVerified: return "userVerified";
    case Check::kBackupState: return "backupState";
    case Check::kAlgorithm: return "algorithm";
    case Check::kSignature: return "signature";
    case Check::kCredentialId: return "credentialId";
    case Check::kUserHandle: return "userHandle";
    case Check::kSignCount: return "signCount";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, Check check) { return os << ToString(check); }

}  // namespace tpmauthn::webauthn
