// Test-only: SimpleWebAuthn's verifyRegistrationResponse as an independent
// relying party. Reads {"response", "expectedChallenge", "expectedOrigin",
// "expectedRPID", "rootCertificates": [PEM, ...]} on stdin; prints
// {"verified": bool, "fmt", "error"} and exits 0 when verified, 1 otherwise.
import { SettingsService, verifyRegistrationResponse } from '@simplewebauthn/server';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const doc = JSON.parse(input);
SettingsService.setRootCertificates({ identifier: 'tpm', certificates: doc.rootCertificates ?? [] });
try {
  const result = await verifyRegistrationResponse({
    response: doc.response,
    expectedChallenge: doc.expectedChallenge,
    expectedOrigin: doc.expectedOrigin,
    expectedRPID: doc.expectedRPID,
    requireUserVerification: true,
  });
  console.log(JSON.stringify({ verified: result.verified, fmt: result.registrationInfo?.fmt }));
  process.exit(result.verified ? 0 : 1);
} catch (error) {
  console.log(JSON.stringify({ verified: false, error: String(error?.message ?? error) }));
  process.exit(1);
}
