#!/usr/bin/env python3
"""Drives `tpmauthn verify` with documents built from the WebAuthn L3 §16
vectors: every vector must verify (exit 0), every broken variant must be
rejected (exit 1) naming the right check, and malformed documents exit 2.

usage: verify_cli_test.py TPMAUTHN DATA_DIR
"""
import base64
import glob
import json
import os
import subprocess
import sys

tpmauthn, data_dir = sys.argv[1], sys.argv[2]
failures = []
passed = 0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load(path):
    fields = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        key, value = line.rstrip("\n").split(" = ", 1)
        fields[key] = value
    return fields


def h(fields, key):
    return bytes.fromhex(fields[key])


def run(doc, stdin=True):
    text = doc if isinstance(doc, str) else json.dumps(doc)
    proc = subprocess.run([tpmauthn, "verify", "-"], input=text.encode(),
                          capture_output=True, timeout=30)
    lines = proc.stdout.decode().splitlines()
    verdict = json.loads(lines[0]) if len(lines) == 1 else None
    return proc.returncode, verdict, proc.stderr.decode()


def expect(name, doc, code, check=None):
    global passed
    rc, verdict, err = run(doc)
    problems = []
    if rc != code:
        problems.append(f"exit {rc}, expected {code}")
    if verdict is None:
        problems.append("verdict is not exactly one JSON line")
    elif check is not None and verdict.get("check") != check:
        problems.append(f"check {verdict.get('check')!r}, expected {check!r}")
    elif code == 0 and verdict.get("verified") is not True:
        problems.append("verified is not true")
    if code == 2 and not err.startswith("tpmauthn: verify: "):
        problems.append(f"stderr {err!r} lacks 'tpmauthn: verify: '")
    if problems:
        failures.append(f"{name}: {'; '.join(problems)} -> {verdict} {err.strip()}")
    else:
        passed += 1
    return verdict


def base_docs(v):
    cred_id = h(v, "credential_id")
    common = {"expectedOrigin": v["origin"], "expectedRPID": v["rp_id"],
              "requireUserVerification": False, "allowCrossOrigin": True}
    if "top_origin" in v:
        common["expectedTopOrigin"] = v["top_origin"]
    registration = dict(common, kind="registration",
                        expectedChallenge=b64(h(v, "registration.challenge")),
                        response={"id": b64(cred_id), "rawId": b64(cred_id), "type": "public-key",
                                  "response": {
                                      "clientDataJSON": b64(h(v, "registration.clientDataJSON")),
                                      "attestationObject": b64(h(v, "registration.attestationObject"))},
                                  "clientExtensionResults": {}})
    authentication = dict(common, kind="authentication",
                          expectedChallenge=b64(h(v, "authentication.challenge")),
                          response={"id": b64(cred_id), "rawId": b64(cred_id), "type": "public-key",
                                    "response": {
                                        "clientDataJSON": b64(h(v, "authentication.clientDataJSON")),
                                        "authenticatorData": b64(h(v, "authentication.authenticatorData")),
                                        "signature": b64(h(v, "authentication.signature")),
                                        "userHandle": None},
                                    "clientExtensionResults": {}},
                          credential={"id": b64(cred_id), "counter": 0})
    return registration, authentication


def mutate(doc, path, fn):
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = fn(target[path[-1]])
    return doc


def flip(index):
    def fn(text):
        raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        raw[index] ^= 0x01
        return b64(bytes(raw))
    return fn


def cut(text):
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return b64(raw[:-1])


def extend(text):
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return b64(raw + b"\x00")


vectors = sorted(glob.glob(os.path.join(data_dir, "webauthn-l3", "*.vec")))
if len(vectors) < 7:
    failures.append(f"only {len(vectors)} vectors found in {data_dir}")
for path in vectors:
    name = os.path.basename(path)[:-4]
    v = load(path)
    reg, auth = base_docs(v)
    verdict = expect(f"{name} registration", reg, 0)
    if not verdict or not verdict.get("publicKey"):
        failures.append(f"{name}: registration verdict has no publicKey")
        continue
    if verdict.get("trusted") is not False:
        failures.append(f"{name}: a verdict without trust anchors says trusted={verdict.get('trusted')}")
    auth["credential"]["publicKey"] = verdict["publicKey"]
    expect(f"{name} authentication", auth, 0)

    R = ["response", "response"]
    # Registration variants.
    expect(f"{name} reg wrong challenge", mutate(reg, ["expectedChallenge"], flip(0)), 1, "challenge")
    expect(f"{name} reg wrong origin", dict(reg, expectedOrigin="https://evil.example"), 1, "origin")
    expect(f"{name} reg wrong rp", dict(reg, expectedRPID="evil.example"), 1, "rpIdHash")
    expect(f"{name} reg truncated attestationObject",
           mutate(reg, R + ["attestationObject"], cut), 1, "attestationObject")
    expect(f"{name} reg extended attestationObject",
           mutate(reg, R + ["attestationObject"], extend), 1, "attestationObject")
    expect(f"{name} reg flipped rpIdHash", mutate(reg, R + ["attestationObject"],
           lambda t: flip(t and (base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)).find(
               bytes.fromhex("bfabc374"))))(t)), 1, "rpIdHash")
    expect(f"{name} reg assertion as registration",
           mutate(reg, R + ["clientDataJSON"], lambda t: b64(h(v, "authentication.clientDataJSON"))),
           1, "type")
    expect(f"{name} reg padded base64", mutate(reg, R + ["clientDataJSON"], lambda t: t + "="),
           1, "encoding")
    # Authentication variants.
    expect(f"{name} auth flipped signature", mutate(auth, R + ["signature"], flip(10)), 1, "signature")
    expect(f"{name} auth flipped rpIdHash", mutate(auth, R + ["authenticatorData"], flip(0)), 1, "rpIdHash")
    expect(f"{name} auth flipped counter", mutate(auth, R + ["authenticatorData"], flip(36)), 1, "signature")
    expect(f"{name} auth truncated authData", mutate(auth, R + ["authenticatorData"], cut), 1,
           "authenticatorData")
    expect(f"{name} auth extended authData", mutate(auth, R + ["authenticatorData"], extend), 1,
           "authenticatorData")
    expect(f"{name} auth wrong type", mutate(auth, R + ["clientDataJSON"],
           lambda t: b64(h(v, "registration.clientDataJSON"))), 1, "type")
    expect(f"{name} auth counter regression", mutate(auth, ["credential", "counter"], lambda c: 5),
           1, "signCount")
    expect(f"{name} auth other credential id", mutate(auth, ["credential", "id"], flip(0)), 1,
           "credentialId")
    expect(f"{name} auth user handle mismatch",
           dict(mutate(auth, R + ["userHandle"], lambda u: b64(b"alice")),
                expectedUserHandle=b64(b"bob")), 1, "userHandle")
    expect(f"{name} auth wrong challenge", mutate(auth, ["expectedChallenge"], flip(3)), 1, "challenge")
    uv = dict(auth, requireUserVerification=True)
    flags = h(v, "authentication.authenticatorData")[32]
    expect(f"{name} auth UV required", uv, 0 if flags & 0x04 else 1, None if flags & 0x04 else "userVerified")

# Cross-origin responses need the document's permission.
co = load(os.path.join(data_dir, "webauthn-l3", "none-es256-cross-origin.vec"))
reg, _ = base_docs(co)
del reg["allowCrossOrigin"]
expect("crossOrigin without permission", reg, 1, "crossOrigin")

# Raw r||s instead of DER.
es = load(os.path.join(data_dir, "webauthn-l3", "none-es256.vec"))
reg, auth = base_docs(es)
auth["credential"]["publicKey"] = run(reg)[1]["publicKey"]
der = h(es, "authentication.signature")
raw = der[5:37] + der[40:]
expect("raw r||s signature", mutate(auth, ["response", "response", "signature"], lambda s: b64(raw)),
       1, "signature")

# Malformed documents: exit 2.
expect("not JSON", "{nope", 2, "document")
expect("not an object", "[]", 2, "document")
expect("unknown member", dict(auth, requireUserVerificaton=False), 2, "document")
expect("no challenge", {k: v for k, v in auth.items() if k != "expectedChallenge"}, 2, "document")
expect("bad kind", dict(auth, kind="login"), 2, "document")
expect("no credential", {k: v for k, v in auth.items() if k != "credential"}, 2, "document")
expect("bad publicKey", mutate(auth, ["credential", "publicKey"], lambda k: "AAAA"), 2, "document")
expect("empty origin list", dict(auth, expectedOrigin=[]), 2, "document")
expect("list of origins", dict(auth, expectedOrigin=["https://a.example", es["origin"]]), 0)

# A file argument works like stdin, and a missing file is a usage error.
proc = subprocess.run([tpmauthn, "verify", "/nonexistent/doc.json"], capture_output=True)
if proc.returncode != 2 or not proc.stderr.decode().startswith("tpmauthn: verify: "):
    failures.append(f"missing file: exit {proc.returncode} {proc.stderr!r}")
else:
    passed += 1

for f in failures:
    print("FAIL:", f)
print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
