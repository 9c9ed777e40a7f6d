#!/usr/bin/env python3
"""tpmauthn enroll / assert / status / remove against a swtpm this script starts
(on a unix socket in a temporary directory) and stops by its PID. Each command
is a separate process, as a user would run them.

usage: tpm_cli_test.py TPMAUTHN
"""
import base64
import glob
import json
import os
import re
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
PIN, NEW_PIN, NEWER_PIN = "471130", "582914", "693028"




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
                            "--challenge", challenge, "--pin-tries", "3"], pin=PIN)
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
                                "--json"], pin=PIN)
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

        def assert_pin(pin, rp="pam://host"):
            return run(["assert", "--rp-id", rp, "--origin", rp, "--challenge",
                        b64(os.urandom(32)), "--pin-fd", "3"], pin=pin)

        def status_json():
            rc, out, err = run(["status", "--json"])
            return rc, (json.loads(out) if out else {})

        rc, st = status_json()
        cred = (st.get("credentials") or [{}])[0]
        check("status shows the credential's own PIN index: 3 of 3 tries",
              cred.get("scheme") == "pin-index" and cred.get("triesLeft") == 3
              and cred.get("limit") == 3 and cred.get("blocked") is False, json.dumps(st))

        rc, out, err = assert_pin("000000")
        check("wrong PIN exits 1 with this credential's tries left", rc == 1
              and "2 tries left for this credential" in err
              and err.startswith("tpmauthn: assert: ") and err.count("\n") == 1, err)
        rc, st = status_json()
        check("status counts the failure on the credential, not the TPM",
              st.get("credentials", [{}])[0].get("triesLeft") == 2
              and st.get("lockout", {}).get("failures") == 0
              and st["srk"]["present"] is True and st["store"]["credentials"] == 1, json.dumps(st))
        rc, out, err = assert_pin(PIN, rp="pam://other")
        check("no credential for another RP", rc == 2 and "no credential" in err, err)

        rc, out, err = assert_pin("000000")
        check("one try left is said in the singular", "(1 try left" in err and "tries" not in err,
              err)
        rc, out, err = run(["status"])
        check("status says '1 try of 3 left' and '1 credential'",
              "1 try of 3 left" in out and "1 credential" in out and "credentials" not in out, out)
        rc, out, err = assert_pin("000000")
        check("the last wrong PIN says the PIN is now blocked", rc == 1 and "now blocked" in err,
              f"{rc} {err}")
        rc, out, err = assert_pin(PIN)
        check("a blocked PIN exits 4, even the right one", rc == 4 and "blocked" in err
              and "reset-pin" in err, f"{rc} {err}")
        rc, out, err = run(["status"])
        check("status says BLOCKED", rc == 0 and "BLOCKED after 3 wrong PINs" in out, out)

        rc, out, err = run(["reset-pin", "alice", "--pin-fd", "3"], pin="123456")
        check("reset-pin refuses a simple PIN and says why", rc == 2 and "too easy" in err
              and "123456" not in err, f"{rc} {err}")
        rc, out, err = run(["reset-pin", "alice", "--pin-fd", "3"], pin=NEW_PIN)
        check("reset-pin sets a new PIN", rc == 0 and "new PIN set" in out, out + err)
        rc, out, err = assert_pin(PIN)
        check("the old PIN is gone", rc == 1 and "wrong PIN" in err, f"{rc} {err}")

        def assert_and_verify(pin, what):
            stored = counters[-1]
            challenge = b64(os.urandom(32))
            rc, out, err = run(["assert", "--rp-id", "pam://host", "--origin", "pam://host",
                                "--challenge", challenge, "--pin-fd", "3", "--json"], pin=pin)
            if rc != 0:
                check(what, False, err)
                return
            doc = {"kind": "authentication", "expectedChallenge": challenge,
                   "expectedOrigin": "pam://host", "expectedRPID": "pam://host",
                   "response": json.loads(out),
                   "credential": {"id": reg["id"], "publicKey": verdict.get("publicKey"),
                                  "counter": stored}}
            p = subprocess.run([tpmauthn, "verify", "-"], input=json.dumps(doc),
                               capture_output=True, text=True)
            v = json.loads(p.stdout) if p.stdout else {}
            check(what, p.returncode == 0 and v.get("counter") == stored + 1,
                  p.stdout + p.stderr)
            counters.append(v.get("counter", stored))

        counters = [counter]
        assert_and_verify(NEW_PIN, "the new PIN signs for the same public key, counter going on")

        rc, out, err = run(["change-pin", "alice", "--pin-fd", "3"], pin=f"000000\n{NEWER_PIN}")
        check("change-pin with a wrong current PIN exits 1 and changes nothing",
              rc == 1 and "wrong PIN" in err, f"{rc} {err}")
        rc, out, err = run(["change-pin", "alice", "--pin-fd", "3"], pin=f"{NEW_PIN}\n{NEWER_PIN}")
        check("change-pin with the current PIN", rc == 0 and "PIN changed" in out, out + err)
        assert_and_verify(NEWER_PIN, "the changed PIN signs")

        # Lock the TPM out with a DA-protected index of our own: a per-credential
        # PIN is not under the TPM's lockout.
        tcti = ["-T", f"swtpm:path={sock}"]
        subprocess.run(["tpm2_nvdefine", *tcti, "-C", "o", "-s", "8", "-p", "secret",
                        "-a", "ownerread|ownerwrite|authread|authwrite", "0x01500000"],
                       check=True, capture_output=True)
        for _ in range(4):
            subprocess.run(["tpm2_nvread", *tcti, "-P", "wrong", "-s", "8", "0x01500000"],
                           capture_output=True)
        rc, out, err = run(["status"])
        check("status exits 4 in lockout", rc == 4 and "LOCKED OUT" in out, out)
        assert_and_verify(NEWER_PIN, "a per-credential PIN works while the TPM is in lockout")

        def nv_indexes():
            out = subprocess.run(["tpm2_getcap", *tcti, "handles-nv-index"], capture_output=True,
                                 text=True, check=True).stdout
            return set(re.findall(r"0x[0-9a-fA-F]+", out))

        rc, out, err = run(["remove", "bob", "--", reg.get("id", "x")])
        check("remove refuses another user's credential and removes nothing",
              rc == 2 and "enrolled for alice" in err
              and len(os.listdir(os.path.join(tmp, "keys"))) >= 1, f"{rc} {out} {err}")
        before = nv_indexes()
        pin_index = json.loads(open(glob.glob(os.path.join(tmp, "keys", "*.key"))[0]).read())["pinIndex"]
        rc, out, err = run(["remove", "alice", "--", reg.get("id", "x")])
        check("remove deletes line, key and PIN index", rc == 0
              and "deleted its TPM key and PIN index" in out
              and not os.listdir(os.path.join(tmp, "keys"))
              and {int(h, 16) for h in before - nv_indexes()} == {pin_index}, (out, err, before, nv_indexes()))
        check("... and leaves the shared TPM sign counter",
              0x01287a00 in {int(h, 16) for h in nv_indexes()}, nv_indexes())

        # Issue #15: the sign counter survives a key store restored from a
        # backup (TPM counter, the default); with --counter file the relying
        # party sees a clone.
        keys = os.path.join(tmp, "keys")

        def enroll_json(user, *extra):
            challenge = b64(os.urandom(32))
            rc, out, err = run(["enroll", user, "--pin-fd", "3", "--json", "--rp-id", "pam://host",
                                "--origin", "pam://host", "--challenge", challenge, *extra],
                               pin=PIN)
            if rc != 0:
                return None, err
            reg = json.loads(out)
            doc = {"kind": "registration", "expectedChallenge": challenge,
                   "expectedOrigin": "pam://host", "expectedRPID": "pam://host", "response": reg}
            p = subprocess.run([tpmauthn, "verify", "-"], input=json.dumps(doc),
                               capture_output=True, text=True)
            return (reg, json.loads(p.stdout)["publicKey"]) if p.returncode == 0 else None, err

        def login(user, reg, public_key, stored):
            """assert + verify as a relying party that stored `stored`: (verify rc, counter)."""
            challenge = b64(os.urandom(32))
            rc, out, err = run(["assert", "--rp-id", "pam://host", "--origin", "pam://host",
                                "--challenge", challenge, "--user", user, "--pin-fd", "3",
                                "--json"], pin=PIN)
            if rc != 0:
                return rc, err
            doc = {"kind": "authentication", "expectedChallenge": challenge,
                   "expectedOrigin": "pam://host", "expectedRPID": "pam://host",
                   "response": json.loads(out),
                   "credential": {"id": reg["id"], "publicKey": public_key, "counter": stored}}
            p = subprocess.run([tpmauthn, "verify", "-"], input=json.dumps(doc),
                               capture_output=True, text=True)
            return p.returncode, (json.loads(p.stdout).get("counter") if p.returncode == 0
                                  else p.stdout + p.stderr)

        # frank: an RS256 key (RSA 2048 in the TPM), which `verify` checks as
        # any relying party would.
        for user, extra in (("carol", []), ("dave", ["--counter", "file"]),
                            ("frank", ["--algorithm", "rs256"])):
            made, err = enroll_json(user, *extra)
            check(f"enroll {user} {' '.join(extra) or '(default counter)'}",
                  made is not None and "note" not in err, err)
            if made is None:
                continue
            reg, public_key = made
            check(f"{user}: the key's algorithm",
                  reg["response"]["publicKeyAlgorithm"] == (-257 if "rs256" in extra else -7),
                  reg["response"])
            key_file = os.path.join(keys, reg["id"] + ".key")
            backup = open(key_file).read()
            stored = 0
            for i in range(3):
                rc, counter = login(user, reg, public_key, stored)
                check(f"{user}: login {i + 1} accepted", rc == 0 and counter > stored, counter)
                stored = counter if rc == 0 else stored
            with open(key_file, "w") as f:
                f.write(backup)
            rc, counter = login(user, reg, public_key, stored)
            if "file" in extra:
                check(f"{user}: after the key store restore, the key file's counter goes back "
                      "and the relying party refuses a clone", rc == 1 and '"check":"signCount"' in counter,
                      (rc, counter))
            else:
                check(f"{user}: after the key store restore the next login is accepted "
                      "(the TPM's counter)", rc == 0 and counter > stored, (rc, counter, stored))
        rc, st = status_json()
        check("status says which credential uses which counter",
              sorted(c.get("signCounter") for c in st.get("credentials", []))
              == ["file", "tpm", "tpm"],
              json.dumps(st.get("credentials")))
        rc, out, err = run(["enroll", "erin", "--counter", "nvram", "--pin-fd", "3"], pin=PIN)
        check("--counter must be tpm or file", rc == 2 and "--counter must be tpm or file" in err,
              err)
        rc, out, err = run(["enroll", "erin", "--algorithm", "es384", "--pin-fd", "3"], pin=PIN)
        check("--algorithm must be es256 or rs256",
              rc == 2 and "--algorithm must be es256 or rs256" in err, err)
        # Something that is not a counter at the index: --counter tpm is
        # refused; the default falls back to the key file and says so.
        subprocess.run(["tpm2_nvundefine", *tcti, "-C", "o", "0x01287a00"], check=True,
                       capture_output=True)
        subprocess.run(["tpm2_nvdefine", *tcti, "-C", "o", "-s", "8",
                        "-a", "ownerread|ownerwrite|authread|authwrite", "0x01287a00"],
                       check=True, capture_output=True)
        rc, out, err = run(["enroll", "erin", "--counter", "tpm", "--pin-fd", "3"], pin=PIN)
        check("--counter tpm with a foreign index there: exit 1, the reason",
              rc == 1 and "not a counter tpmauthn can use" in err, f"{rc} {err}")
        rc, out, err = run(["enroll", "erin", "--pin-fd", "3"], pin=PIN)
        check("the default falls back to the key file's counter and says so on stderr",
              rc == 0 and "note: the sign counter is kept in the key file" in err, f"{rc} {err}")
    finally:
        swtpm.stop()

    # No TPM at all: exit 3 with one line.
    p = subprocess.run([tpmauthn, "--tcti", f"swtpm:path={tmp}/nonexistent", "--store",
                        os.path.join(tmp, "keys"), "--credentials", os.path.join(tmp, "c2"),
                        "enroll", "bob", "--pin-fd", "0"], input=PIN + "\n",
                       capture_output=True, text=True)
    check("no TPM exits 3", p.returncode == 3 and p.stderr.startswith("tpmauthn: enroll: no TPM")
          and p.stderr.count("\n") == 1, p.stderr)

checks.finish()
