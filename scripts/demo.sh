#!/usr/bin/env bash
# The tpmauthn demo: builds the project, then shows the relying-party side at
# work on the WebAuthn L3 §16.2 test vector: a registration and an assertion
# made by another implementation are verified, and a tampered assertion is
# rejected with the failed check named.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh" >/dev/null
build=${TPMAUTHN_BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
meson compile -C "$build" >/dev/null
tpmauthn="$build/cli/tpmauthn"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$root/tests/data/webauthn-l3/none-es256.vec" "$work" <<'PY'
import base64, json, sys
v = {}
for line in open(sys.argv[1]):
    if line.strip() and not line.startswith("#"):
        k, val = line.rstrip("\n").split(" = ", 1)
        v[k] = val
b64 = lambda h: base64.urlsafe_b64encode(bytes.fromhex(h)).rstrip(b"=").decode()
cid = b64(v["credential_id"])
common = {"expectedOrigin": v["origin"], "expectedRPID": v["rp_id"], "requireUserVerification": False}
reg = dict(common, kind="registration", expectedChallenge=b64(v["registration.challenge"]),
           response={"id": cid, "rawId": cid, "type": "public-key", "clientExtensionResults": {},
                     "response": {"clientDataJSON": b64(v["registration.clientDataJSON"]),
                                  "attestationObject": b64(v["registration.attestationObject"])}})
auth = dict(common, kind="authentication", expectedChallenge=b64(v["authentication.challenge"]),
            credential={"id": cid, "counter": 0},
            response={"id": cid, "rawId": cid, "type": "public-key", "clientExtensionResults": {},
                      "response": {"clientDataJSON": b64(v["authentication.clientDataJSON"]),
                                   "authenticatorData": b64(v["authentication.authenticatorData"]),
                                   "signature": b64(v["authentication.signature"]),
                                   "userHandle": None}})
json.dump(reg, open(sys.argv[2] + "/registration.json", "w"), indent=1)
json.dump(auth, open(sys.argv[2] + "/authentication.json", "w"), indent=1)
PY

echo "1. Registration from the WebAuthn L3 §16.2 vector (RP ID example.org):"
"$tpmauthn" verify "$work/registration.json" | tee "$work/reg.out"
public_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["publicKey"])' "$work/reg.out")

python3 - "$work" "$public_key" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1] + "/authentication.json"))
d["credential"]["publicKey"] = sys.argv[2]
json.dump(d, open(sys.argv[1] + "/authentication.json", "w"), indent=1)
sig = bytearray(base64.urlsafe_b64decode(d["response"]["response"]["signature"] + "=="))
sig[20] ^= 1
d["response"]["response"]["signature"] = base64.urlsafe_b64encode(bytes(sig)).rstrip(b"=").decode()
json.dump(d, open(sys.argv[1] + "/tampered.json", "w"), indent=1)
PY
echo
echo "2. The assertion, checked against the registered public key:"
"$tpmauthn" verify "$work/authentication.json"
echo
echo "3. The same assertion with one bit of the signature flipped:"
set +e
"$tpmauthn" verify "$work/tampered.json"
rc=$?
set -e
echo "   (exit status $rc: rejected)"
[ "$rc" -eq 1 ]
