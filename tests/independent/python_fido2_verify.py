#!/usr/bin/python3
"""Test-only: python-fido2's Fido2Server.register_complete (Debian's
python3-fido2, 0.9.1 on Debian 12) as an independent relying party, with its
own "tpm" attestation verifier and chain check.

Reads {"response", "expectedChallenge", "expectedOrigin", "expectedRPID",
"rootCertificates": [PEM, ...]} on stdin, as simplewebauthn_verify.mjs does;
prints {"verified": bool, "fmt", "attestationType", "error"} and exits 0 when
verified, 1 otherwise. Run it with Debian's /usr/bin/python3: that is where
python3-fido2 installs.
"""
import base64
import json
import sys

import fido2
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fido2.attestation import TpmAttestation
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity

OLD_API = int(fido2.__version__.split(".")[0]) == 0
if OLD_API:  # 0.9
    from fido2.client import ClientData
    from fido2.ctap2 import AttestationObject
    from fido2.server import AttestationVerifier
else:  # 1.x
    from fido2.attestation import AttestationVerifier
    from fido2.webauthn import AttestationObject
    from fido2.webauthn import CollectedClientData as ClientData


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Roots(AttestationVerifier):
    """Trusts exactly the roots the caller names, for "tpm" statements."""

    def __init__(self, roots):
        super().__init__([TpmAttestation()])
        self.roots = roots
        self.result = None

    def ca_lookup(self, attestation_result, auth_data):
        self.result = attestation_result
        if OLD_API:
            return self.roots  # a list: the chain's top
        return self.roots[0] if self.roots else None  # 1.x: one DER certificate


def main():
    doc = json.load(sys.stdin)
    roots = [x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
             for pem in doc.get("rootCertificates", [])]
    verifier = Roots(roots)
    server = Fido2Server(PublicKeyCredentialRpEntity(id=doc["expectedRPID"], name="tpmauthn test"),
                         attestation="direct",
                         verify_origin=lambda origin: origin == doc["expectedOrigin"],
                         verify_attestation=verifier)
    response = doc["response"]["response"]
    attestation = AttestationObject(b64url(response["attestationObject"]))
    try:
        server.register_complete({"challenge": doc["expectedChallenge"],
                                  "user_verification": "required"},
                                 ClientData(b64url(response["clientDataJSON"])), attestation)
    except Exception as error:  # every refusal, whatever python-fido2 raises
        print(json.dumps({"verified": False, "fmt": attestation.fmt,
                          "error": f"{type(error).__name__}: {error}"}))
        return 1
    print(json.dumps({"verified": True, "fmt": attestation.fmt,
                      "attestationType": verifier.result.attestation_type.name}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
