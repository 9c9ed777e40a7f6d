#!/usr/bin/env python3
"""Issue #15 end to end: a client TPM (swtpm manufactured with EK
certificates by swtpm_setup + swtpm_localca) gets an AIK certificate from an
attestation CA over files, enrolls with --attestation tpm, and a server's
`tpmauthn add --require-attestation tpm --trust-anchors DIR` accepts it — and
refuses a self-attested one, a chain to another CA, a request whose EK is not
the certificate's, an EK that does not chain, and a response installed on
another TPM. A third TPM has only an ECC P-256 EK certificate (its EK made by
tpm2_createek, its certificate by a test EK CA with openssl, written to NV
0x01c0000a by tpm2_nvwrite, as a maker provisions one): the same exchange
goes through its ECC EK. Each TPM is a swtpm on a unix socket in a temp dir, stopped by
its PID. Two independent relying parties verify the registrations, given
the CA's root, and refuse them given another: SimpleWebAuthn (npm,
test-only: tests/independent, installed by scripts/install-deps.sh; needs
Node.js 20) for ES256 and RS256 credential keys, python-fido2 (Debian's
python3-fido2, run by /usr/bin/python3) for RS256 ones — its 0.9.1 cannot
read an ECC pubArea.

usage: attestation_cli_test.py TPMAUTHN SIMPLEWEBAUTHN_VERIFY_MJS PYTHON_FIDO2_VERIFY_PY
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, Swtpm  # noqa: E402

checks = Checks(verbose=False)
check = checks.check
tpmauthn, simplewebauthn, python_fido2 = (os.path.abspath(a) for a in sys.argv[1:4])
PIN = "471130"
RP = "ssh://server.example"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


with tempfile.TemporaryDirectory() as tmp:
    client = Swtpm(os.path.join(tmp, "client-tpm"), ek_certificates=True)
    other = Swtpm(os.path.join(tmp, "other-tpm"), ek_certificates=True)
    ecc_only = Swtpm(os.path.join(tmp, "ecc-tpm"))
    try:
        def tool(tpm, store, args, pin=None, creds=None):
            base = [tpmauthn, "--tcti", tpm.tcti, "--store", store,
                    "--credentials", creds or os.path.join(tmp, "client-credentials")]
            if pin is None:
                p = subprocess.run(base + args, capture_output=True, text=True, timeout=120,
                                   stdin=subprocess.DEVNULL)
            else:
                p = subprocess.run(["sh", "-c", 'exec "$@" 3<&0', "sh"] + base + args,
                                   input=pin + "\n", capture_output=True, text=True, timeout=120)
            return p.returncode, p.stdout, p.stderr

        def ca(args):
            p = subprocess.run([tpmauthn, "attestation-ca", *args], capture_output=True,
                               text=True, timeout=120)
            return p.returncode, p.stdout, p.stderr

        store = os.path.join(tmp, "client-keys")
        ca_dir = os.path.join(tmp, "ca")
        rc, out, err = ca(["init", ca_dir, "--name", "Example fleet attestation CA"])
        check("attestation-ca init", rc == 0 and "ca-cert.pem" in out, out + err)
        check("the CA key is 0600", os.stat(f"{ca_dir}/ca-key.pem").st_mode & 0o777 == 0o600)
        rc, out, err = ca(["init", ca_dir])
        check("init never overwrites a CA", rc == 2 and "already exists" in err, err)
        # The admin trusts the TPM maker's EK CA (here swtpm_localca's).
        for name in ("swtpm-localca-rootca-cert.pem", "issuercert.pem"):
            shutil.copy(os.path.join(client.ek_ca_dir, name), os.path.join(ca_dir, "ek-roots"))

        # Client: request; CA: issue; client: install — files only.
        req = os.path.join(tmp, "request.json")
        rc, out, err = tool(client, store, ["attestation-key", "request", "--out", req])
        check("attestation-key request", rc == 0 and os.path.exists(req), err)
        request = json.load(open(req)) if rc == 0 else {}
        check("the request names the chip", request.get("manufacturer") == "id:49424D00", request)
        resp = os.path.join(tmp, "response.json")
        rc, out, err = ca(["issue", ca_dir, req, "--out", resp])
        check("attestation-ca issue", rc == 0 and "issued an AIK certificate" in err, err)
        rc, out, err = tool(client, store, ["attestation-key", "install", resp])
        check("attestation-key install", rc == 0 and "installed the AIK certificate" in out,
              out + err)

        def enroll(user, attestation, algorithm="es256", tpm=client, keys=store):
            challenge = b64(os.urandom(32))
            rc, out, err = tool(tpm, keys, ["enroll", user, "--attestation", attestation,
                                                "--algorithm", algorithm, "--rp-id", RP,
                                                "--origin", RP, "--challenge", challenge,
                                                "--pin-fd", "3", "--json"], pin=PIN)
            path = os.path.join(tmp, f"{user}-{attestation}-{algorithm}.json")
            if rc == 0:
                open(path, "w").write(out)
            return rc, path, challenge, err

        def add(path, challenge, *policy, creds="server-credentials"):
            p = subprocess.run([tpmauthn, "--credentials", os.path.join(tmp, creds), "add",
                                "alice", path, "--rp-id", RP, "--origin", RP, "--challenge",
                                challenge, *policy], capture_output=True, text=True, timeout=60)
            return p.returncode, p.stdout, p.stderr

        anchors = os.path.join(tmp, "anchors")
        os.mkdir(anchors)
        shutil.copy(os.path.join(ca_dir, "ca-cert.pem"), anchors)
        rc, reg_tpm, chal_tpm, err = enroll("alice", "tpm")
        check("enroll --attestation tpm", rc == 0, err)
        rc, out, err = add(reg_tpm, chal_tpm, "--require-attestation", "tpm", "--trust-anchors",
                           anchors)
        check("the server accepts it with --require-attestation tpm and the CA as anchor",
              rc == 0, out + err)
        check("... and says it is attested by the CA's chain", "attca" in out
              and "chain trusted" in out, out)

        def verdict(verifier, path, challenge, root_pem):
            doc = {"response": json.load(open(path)), "expectedChallenge": challenge,
                   "expectedOrigin": RP, "expectedRPID": RP, "rootCertificates": [root_pem]}
            p = subprocess.run(verifier, input=json.dumps(doc), capture_output=True, text=True,
                               timeout=60)
            try:
                return json.loads(p.stdout)
            except ValueError:
                return {"verified": False, "error": p.stdout + p.stderr}

        node = shutil.which("node")
        node_major = int(subprocess.run([node, "-p", "process.versions.node.split('.')[0]"],
                                        capture_output=True, text=True).stdout or 0) if node else 0
        modules = os.path.join(os.path.dirname(simplewebauthn), "node_modules", "@simplewebauthn")
        with_node = not (node_major and node_major < 20)
        if not with_node:
            print(f"SKIP: SimpleWebAuthn 13 needs Node.js 20; this machine has {node_major}")
        else:
            check("SimpleWebAuthn is installed (scripts/install-deps.sh runs npm ci)",
                  node is not None and os.path.isdir(modules), modules)
        ca_root = open(os.path.join(ca_dir, "ca-cert.pem")).read()
        if with_node:
            v = verdict(["node", simplewebauthn], reg_tpm, chal_tpm, ca_root)
            check("SimpleWebAuthn verifies the tpm registration with the CA's root",
                  v.get("verified") is True and v.get("fmt") == "tpm", v)

        # An RS256 credential key, attested the same way: our server, then
        # SimpleWebAuthn and python-fido2.
        rc, reg_rsa, chal_rsa, err = enroll("alice", "tpm", "rs256")
        check("enroll --attestation tpm --algorithm rs256", rc == 0, err)
        rsa = json.load(open(reg_rsa)) if rc == 0 else {"response": {}}
        check("... makes an RS256 key", rsa["response"].get("publicKeyAlgorithm") == -257, rsa)
        def accepted_as_attested(path, challenge, creds):
            rc, out, err = add(path, challenge, "--require-attestation", "tpm",
                               "--trust-anchors", anchors, creds=creds)
            return rc == 0 and "attca" in out and "chain trusted" in out, out + err

        check("the server accepts the RS256 one with --require-attestation tpm",
              *accepted_as_attested(reg_rsa, chal_rsa, "server-rsa-credentials"))
        if with_node:
            v = verdict(["node", simplewebauthn], reg_rsa, chal_rsa, ca_root)
            check("SimpleWebAuthn verifies the RS256 tpm registration",
                  v.get("verified") is True and v.get("fmt") == "tpm", v)
        python_fido2_cmd = ["/usr/bin/python3", python_fido2]
        v = verdict(python_fido2_cmd, reg_rsa, chal_rsa, ca_root)
        check("python-fido2 verifies the RS256 tpm registration with the CA's root (AttCA)",
              v.get("verified") is True and v.get("fmt") == "tpm"
              and v.get("attestationType") == "ATT_CA", v)
        v = verdict(python_fido2_cmd, reg_rsa, b64(os.urandom(32)), ca_root)
        check("... and refuses it for another challenge", v.get("verified") is False
              and "challenge" in v.get("error", ""), v)

        rc, reg_self, chal_self, err = enroll("alice", "self")
        check("enroll --attestation self", rc == 0, err)
        rc, out, err = add(reg_self, chal_self, "--require-attestation", "tpm", "--trust-anchors",
                           anchors)
        check("a self-attested registration is refused under --require-attestation tpm",
              rc != 0 and "attestation" in err, out + err)

        stranger = os.path.join(tmp, "stranger-ca")
        ca(["init", stranger])
        other_anchors = os.path.join(tmp, "other-anchors")
        os.mkdir(other_anchors)
        shutil.copy(os.path.join(stranger, "ca-cert.pem"), other_anchors)
        rc, out, err = add(reg_tpm, chal_tpm, "--require-attestation", "tpm", "--trust-anchors",
                           other_anchors, creds="server2-credentials")
        check("a chain to another CA is refused", rc != 0 and "attestation" in err, out + err)
        stranger_root = open(os.path.join(stranger, "ca-cert.pem")).read()
        if with_node:
            v = verdict(["node", simplewebauthn], reg_tpm, chal_tpm, stranger_root)
            check("... and SimpleWebAuthn refuses it too", v.get("verified") is False, v)
        v = verdict(python_fido2_cmd, reg_rsa, chal_rsa, stranger_root)
        check("... and python-fido2 refuses the RS256 one", v.get("verified") is False
              and "Untrusted" in v.get("error", ""), v)

        # Forged requests.
        other_store = os.path.join(tmp, "other-keys")
        other_req = os.path.join(tmp, "other-request.json")
        tool(other, other_store, ["attestation-key", "request", "--out", other_req])
        forged = dict(request, ekPublic=json.load(open(other_req))["ekPublic"])
        open(os.path.join(tmp, "forged.json"), "w").write(json.dumps(forged))
        rc, out, err = ca(["issue", ca_dir, os.path.join(tmp, "forged.json")])
        check("another TPM's EK with this TPM's certificate is refused",
              rc == 1 and "not the key of the EK certificate" in err, err)
        rc, out, err = ca(["issue", ca_dir, other_req])
        check("an EK certificate from a maker the admin does not trust is refused",
              rc == 1 and "does not chain to a trusted EK root" in err, err)
        not_restricted = json.loads(open(req).read())
        raw = bytearray(base64.urlsafe_b64decode(not_restricted["akPublic"] + "=="))
        # TPM2B_PUBLIC: size, type, nameAlg, then objectAttributes big-endian:
        # byte 7 holds bits 16-23; restricted is bit 16.
        raw[7] &= ~0x01
        not_restricted["akPublic"] = b64(bytes(raw))
        open(os.path.join(tmp, "unrestricted.json"), "w").write(json.dumps(not_restricted))
        rc, out, err = ca(["issue", ca_dir, os.path.join(tmp, "unrestricted.json")])
        check("an attestation key that is not restricted is refused",
              rc == 1 and "restricted signing key" in err, err)

        # A TPM whose maker certified only its ECC P-256 EK.
        def tpm2(*args):
            env = dict(os.environ, TPM2TOOLS_TCTI=ecc_only.tcti)
            p = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=60)
            return p.returncode, p.stderr

        def openssl(*args):
            p = subprocess.run(["openssl", *args], cwd=tmp, capture_output=True, text=True,
                               timeout=60)
            return p.returncode, p.stderr

        ecc_store = os.path.join(tmp, "ecc-keys")
        ecc_req = os.path.join(tmp, "ecc-request.json")
        rc, out, err = tool(ecc_only, ecc_store, ["attestation-key", "request", "--out", ecc_req])
        check("a TPM without any EK certificate: request refused, named",
              rc != 0 and "no EK certificate in NV" in err and "0x01c0000a" in err, err)
        steps = [
            tpm2("tpm2_createek", "-c", "0x81010002", "-G", "ecc", "-u",
                 os.path.join(tmp, "ecc-ek.pem"), "-f", "pem"),
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", "ecc-ek-ca.key", "-out", "ecc-ek-ca.pem", "-days", "30",
                    "-subj", "/CN=Example ECC EK CA", "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"),
            openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", "unused.key", "-subj", "/CN=unused", "-out", "ecc-ek.csr"),
        ]
        open(os.path.join(tmp, "ecc-ek.ext"), "w").write(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement\n")
        steps.append(openssl("x509", "-req", "-in", "ecc-ek.csr", "-CA", "ecc-ek-ca.pem",
                             "-CAkey", "ecc-ek-ca.key", "-CAcreateserial", "-force_pubkey",
                             "ecc-ek.pem", "-days", "30", "-extfile", "ecc-ek.ext", "-outform",
                             "DER", "-out", "ecc-ek.der"))
        size = os.path.getsize(os.path.join(tmp, "ecc-ek.der")) if steps[-1][0] == 0 else 0
        steps.append(tpm2("tpm2_nvdefine", "0x01c0000a", "-C", "o", "-s", str(size), "-a",
                          "ownerwrite|ownerread|authread|no_da"))
        steps.append(tpm2("tpm2_nvwrite", "0x01c0000a", "-C", "o", "-i",
                          os.path.join(tmp, "ecc-ek.der")))
        check("the ECC EK and its certificate are provisioned", all(rc == 0 for rc, _ in steps),
              [e for rc, e in steps if rc])
        rc, out, err = tool(ecc_only, ecc_store, ["attestation-key", "request", "--out", ecc_req])
        ecc_request = json.load(open(ecc_req)) if rc == 0 else {"ekPublic": ""}
        ek_area = base64.urlsafe_b64decode(ecc_request["ekPublic"] + "==")
        check("request takes the ECC EK when only its certificate is there",
              rc == 0 and ek_area[2:4] == b"\x00\x23", err)
        rc, out, err = tool(ecc_only, ecc_store, ["attestation-key", "request", "--ek", "rsa"])
        check("... and keeps to it: --ek rsa for this store's key is refused, named",
              rc == 2 and "under the ecc EK" in err, err)
        rc, out, err = ca(["issue", ca_dir, ecc_req])
        check("an ECC EK certificate from a maker the admin does not trust is refused",
              rc == 1 and "does not chain to a trusted EK root" in err, err)
        shutil.copy(os.path.join(tmp, "ecc-ek-ca.pem"), os.path.join(ca_dir, "ek-roots"))
        forged = dict(ecc_request, ekPublic=request["ekPublic"])
        open(os.path.join(tmp, "ecc-forged.json"), "w").write(json.dumps(forged))
        rc, out, err = ca(["issue", ca_dir, os.path.join(tmp, "ecc-forged.json")])
        check("an RSA EK with the ECC EK's certificate is refused",
              rc == 1 and "not the key of the EK certificate" in err, err)
        ecc_resp = os.path.join(tmp, "ecc-response.json")
        rc, out, err = ca(["issue", ca_dir, ecc_req, "--out", ecc_resp])
        check("the CA issues for the ECC EK", rc == 0 and "issued an AIK certificate" in err, err)
        rc, out, err = tool(ecc_only, ecc_store, ["attestation-key", "install", ecc_resp])
        check("... and the TPM activates it with its ECC EK",
              rc == 0 and "installed the AIK certificate" in out, out + err)
        rc, reg_ecc, challenge, err = enroll("carol", "tpm", tpm=ecc_only, keys=ecc_store)
        check("enroll --attestation tpm on the ECC-EK TPM", rc == 0, err)
        check("the server accepts it with --require-attestation tpm",
              *accepted_as_attested(reg_ecc, challenge, "server-ecc-credentials"))
        if with_node:
            v = verdict(["node", simplewebauthn], reg_ecc, challenge, ca_root)
            check("... and so does SimpleWebAuthn", v.get("verified") is True, v)

        # The CA run by an ordinary user (nobody) in a directory of theirs,
        # given relative paths: ek-roots/ may be the caller's, never another
        # user's.
        if os.geteuid() == 0:
            os.chmod(tmp, 0o755)
            admin = os.path.join(tmp, "admin")
            os.mkdir(admin)
            shutil.copy(req, os.path.join(admin, "request.json"))
            os.chown(admin, 65534, 65534)
            as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

            def ca_as_nobody(args):
                p = subprocess.run(as_nobody + [tpmauthn, "attestation-ca", *args], cwd=admin,
                                   capture_output=True, text=True, timeout=120)
                return p.returncode, p.stdout, p.stderr

            rc, out, err = ca_as_nobody(["init", "ca"])
            check("a non-root admin makes a CA", rc == 0, err)
            for name in ("swtpm-localca-rootca-cert.pem", "issuercert.pem"):
                shutil.copy(os.path.join(client.ek_ca_dir, name), os.path.join(admin, "ca", "ek-roots"))
                os.chown(os.path.join(admin, "ca", "ek-roots", name), 65534, 65534)
            rc, out, err = ca_as_nobody(["issue", "ca", "request.json", "--out", "response.json"])
            check("... and issues with its own ek-roots/, the CA named by a relative path",
                  rc == 0 and "issued an AIK certificate" in err, err)
            os.chown(os.path.join(admin, "ca", "ek-roots", "issuercert.pem"), 4321, 4321)
            rc, out, err = ca_as_nobody(["issue", "ca", "request.json"])
            check("an EK root owned by another user is refused, named",
                  rc == 2 and "issuercert.pem: owned by uid 4321" in err, err)
            p = subprocess.run([tpmauthn, "--credentials", os.path.join(tmp, "server3-credentials"),
                                "add", "alice", reg_tpm, "--rp-id", RP, "--origin", RP,
                                "--challenge", chal_tpm, "--require-attestation", "tpm",
                                "--trust-anchors", "anchors"], cwd=tmp, capture_output=True,
                               text=True, timeout=60)
            check("add takes --trust-anchors as a relative path", p.returncode == 0, p.stderr)
        else:
            print("SKIP: the CA as a non-root user needs root to switch to one")

        # The response on another TPM: its attestation key cannot be unsealed there.
        os.makedirs(other_store, exist_ok=True)
        shutil.copy(os.path.join(store, "attestation.json"), other_store)
        rc, out, err = tool(other, other_store, ["attestation-key", "install", resp])
        check("a response installed on another TPM is refused", rc != 0, out + err)
    finally:
        client.stop()
        other.stop()
        ecc_only.stop()
checks.finish()
