#!/usr/bin/env python3
"""tpmauthn enroll / assert / status / remove against a swtpm this script starts
(on a unix socket in a temporary directory) and stops by its PID. Each command
is a separate process, as a user would run them.

usage: tpm_cli_test.py TPMAUTHN
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, Swtpm, wait_for_socket  # noqa: E402
checks = Checks(verbose=False)
check = checks.check


tpmauthn = sys.argv[1]




def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "tpm")
    os.mkdir(state)
    sock = os.path.join(state, "sock")
    swtpm = Swtpm(state)
    try:
        creds = os.path.join(tmp, "credentials")
        open(creds, "w").write("# credentials\n")
        base = [tpmauthn, "--tcti", f"swtpm:path={sock}", "--store", os.path.join(tmp, "keys"),
                "--credentials", creds]

        def run(args, pin=None):
            """Runs tpmauthn with the PIN on descriptor 3 (never argv or env)."""
            if pin is None:
                p = subprocess.run(base + args, capture_output=True, text=True, timeout=60,
                                   stdin=subprocess.DEVNULL)
                return p.returncode, p.stdout, p.stderr
            # The PIN goes to descriptor 3 through a shell redirection.
            p = subprocess.run(["sh", "-c", 'exec "$@" 3<&0', "sh"] + base + args,
                               input=pin + "\n", capture_output=True, text=True, timeout=60)
            return p.returncode, p.stdout, p.stderr

        rc, out, err = run(["status", "--json"])
        st = json.loads(out) if out else {}
        check("status before enroll", rc == 0 and st.get("tpm", {}).get("present") is True
              and st["srk"]["present"] is False, out + err)

        challenge = b64(os.urandom(32))
        rc, out, err = run(["enroll", "alice", "--pin-fd", "3", "--json", "--label", "laptop",
                            "--rp-id", "pam://host", "--origin", "pam://host",
                            "--challenge", challenge], pin="4711")
        check("enroll", rc == 0, err)
        reg = json.loads(out) if rc == 0 else {}
        check("RegistrationResponseJSON members",
              reg.get("type") == "public-key" and reg.get("authenticatorAttachment") == "platform"
              and set(reg.get("response", {})) >= {"clientDataJSON", "attestationObject",
                                                   "authenticatorData", "publicKey",
                                                   "publicKeyAlgorithm", "transports"}
              and reg["response"]["publicKeyAlgorithm"] == -7, json.dumps(reg)[:300])
        check("credential line written", " tpm uv=pin,rp=pam://host,origin=pam://host " in open(creds).read())
        check("one stderr line at most", err.count("\n") <= 1, err)

        doc = {"kind": "registration", "expectedChallenge": challenge,
               "expectedOrigin": "pam://host", "expectedRPID": "pam://host", "response": reg}
        p = subprocess.run([tpmauthn, "verify", "-"], input=json.dumps(doc), capture_output=True,
                           text=True)
        verdict = json.loads(p.stdout) if p.stdout else {}
        check("tpmauthn verify accepts the registration", p.returncode == 0
              and verdict.get("attestationType") == "self", p.stdout + p.stderr)

        counter = 0
        for i in range(3):
            challenge = b64(os.urandom(32))
            rc, out, err = run(["assert", "--rp-id", "pam://host", "--origin", "pam://host",
                                "--challenge", challenge, "--user", "alice", "--pin-fd", "3",
                                "--json"], pin="4711")
            check(f"assert {i}", rc == 0, err)
            if rc != 0:
                break
            auth = json.loads(out)
            doc = {"kind": "authentication", "expectedChallenge": challenge,
                   "expectedOrigin": "pam://host", "expectedRPID": "pam://host", "response": auth,
                   "credential": {"id": reg["id"], "publicKey": verdict.get("publicKey"),
                                  "counter": counter}}
            p = subprocess.run([tpmauthn, "verify", "-"], input=json.dumps(doc),
                               capture_output=True, text=True)
            v = json.loads(p.stdout) if p.stdout else {}
            check(f"verify assertion {i}", p.returncode == 0 and v.get("counter") == counter + 1
                  and v.get("userVerified") is True, p.stdout + p.stderr)
            counter = v.get("counter", counter)

        rc, out, err = run(["assert", "--rp-id", "pam://host", "--origin", "pam://host",
                            "--challenge", b64(os.urandom(32)), "--pin-fd", "3"], pin="0000")
        check("wrong PIN exits 1 with tries left", rc == 1 and "tries left" in err
              and err.startswith("tpmauthn: assert: ") and err.count("\n") == 1, err)
        rc, out, err = run(["status", "--json"])
        st = json.loads(out) if out else {}
        check("status counts the failure", st.get("lockout", {}).get("failures") == 1
              and st["srk"]["present"] is True and st["store"]["credentials"] == 1, out)
        rc, out, err = run(["assert", "--rp-id", "pam://other", "--origin", "pam://other",
                            "--challenge", b64(os.urandom(32)), "--pin-fd", "3"], pin="4711")
        check("no credential for another RP", rc == 2 and "no credential" in err, err)

        rc, out, err = run(["assert", "--rp-id", "pam://host", "--origin", "pam://host",
                            "--challenge", b64(os.urandom(32)), "--pin-fd", "3"], pin="0000")
        check("one try left is said in the singular", "(1 try left" in err and "tries" not in err,
              err)
        rc, out, err = run(["status"])
        check("status says '1 try left' and '1 credential'",
              "1 try left" in out and "1 credential" in out and "tries" not in out
              and "credentials" not in out, out)
        rc, out, err = run(["assert", "--rp-id", "pam://host", "--origin", "pam://host",
                            "--challenge", b64(os.urandom(32)), "--pin-fd", "3"], pin="0000")
        rc, out, err = run(["assert", "--rp-id", "pam://host", "--origin", "pam://host",
                            "--challenge", b64(os.urandom(32)), "--pin-fd", "3"], pin="4711")
        check("lockout exits 4", rc == 4 and "lockout" in err, f"{rc} {err}")
        rc, out, err = run(["status"])
        check("status exits 4 in lockout", rc == 4 and "LOCKED OUT" in out, out)

        rc, out, err = run(["remove", "alice", reg.get("id", "x")])
        check("remove deletes line and key", rc == 0 and "deleted its TPM key" in out
              and not os.listdir(os.path.join(tmp, "keys")), out + err)
    finally:
        swtpm.stop()

    # No TPM at all: exit 3 with one line.
    p = subprocess.run([tpmauthn, "--tcti", f"swtpm:path={tmp}/nonexistent", "--store",
                        os.path.join(tmp, "keys"), "--credentials", os.path.join(tmp, "c2"),
                        "enroll", "bob", "--pin-fd", "0"], input="1234\n",
                       capture_output=True, text=True)
    check("no TPM exits 3", p.returncode == 3 and p.stderr.startswith("tpmauthn: enroll: no TPM")
          and p.stderr.count("\n") == 1, p.stderr)

checks.finish()
