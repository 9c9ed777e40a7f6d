#!/usr/bin/env python3
"""tpmauthn add / list / remove / import-u2f against a credentials file in a
temporary directory.

usage: credentials_cli_test.py TPMAUTHN DATA_DIR
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, Swtpm, wait_for_socket  # noqa: E402
checks = Checks(verbose=False)
check = checks.check


tpmauthn, data_dir = sys.argv[1], sys.argv[2]




def run(*args, stdin=None):
    p = subprocess.run([tpmauthn, *args], input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def b64(h):
    return base64.urlsafe_b64encode(bytes.fromhex(h)).rstrip(b"=").decode()


def load(name):
    v = {}
    for line in open(os.path.join(data_dir, "webauthn-l3", name + ".vec")):
        if line.strip() and not line.startswith("#"):
            k, val = line.rstrip("\n").split(" = ", 1)
            v[k] = val
    return v


with tempfile.TemporaryDirectory() as tmp:
    creds = os.path.join(tmp, "credentials")
    with open(creds, "w") as f:
        f.write("# test credentials\n")
    os.chmod(creds, 0o644)
    C = ["--credentials", creds]

    # add: a RegistrationResponseJSON made elsewhere (the §16.3 self-attested vector).
    v = load("packed-self-es256")
    reg = {"id": b64(v["credential_id"]), "rawId": b64(v["credential_id"]), "type": "public-key",
           "response": {"clientDataJSON": b64(v["registration.clientDataJSON"]),
                        "attestationObject": b64(v["registration.attestationObject"])},
           "clientExtensionResults": {}}
    reg_path = os.path.join(tmp, "reg.json")
    json.dump(reg, open(reg_path, "w"))
    rc, out, err = run(*C, "add", "alice", reg_path, "--rp-id", "example.org",
                       "--origin", "https://example.org", "--label", "vector key")
    check("add verifies and appends", rc == 0, f"rc={rc} {err}")
    check("... and names the attestation type", "(attestation: self)" in out, out)
    # A packed x5c registration: basic, and add says no anchor vouched for it.
    v3 = load("packed-es256")
    reg3 = {"id": b64(v3["credential_id"]), "rawId": b64(v3["credential_id"]),
            "type": "public-key",
            "response": {"clientDataJSON": b64(v3["registration.clientDataJSON"]),
                         "attestationObject": b64(v3["registration.attestationObject"])},
            "clientExtensionResults": {}}
    other_creds = os.path.join(tmp, "other-credentials")
    rc, out, err = run("--credentials", other_creds, "add", "carol", "-", "--rp-id", "example.org",
                       "--origin", "https://example.org", "--uv", "none",
                       stdin=json.dumps(reg3))
    check("add of a packed x5c registration says it was not checked against a trust anchor",
          rc == 0 and "(attestation: basic, not checked against any trust anchor)" in out,
          (rc, out, err))
    rc, out, err = run(*C, "add", "bob", reg_path, "--rp-id", "example.org",
                       "--origin", "https://example.org")
    check("add refuses an enrolled id", rc == 1 and "duplicate credential id" in err, err)
    rc, out, err = run(*C, "add", "bob", reg_path, "--rp-id", "example.com",
                       "--origin", "https://example.org")
    check("add rejects a wrong RP", rc == 1 and "rpIdHash" in err, err)
    rc, out, err = run(*C, "add", "bob", reg_path, "--rp-id", "example.org",
                       "--origin", "https://example.org", "--challenge", "AAAA")
    check("add checks --challenge", rc == 1 and "challenge" in err, err)
    tampered = json.loads(json.dumps(reg))
    att = bytearray(bytes.fromhex(v["registration.attestationObject"]))
    att[40] ^= 1  # inside the attestation signature
    tampered["response"]["attestationObject"] = base64.urlsafe_b64encode(bytes(att)).rstrip(b"=").decode()
    rc, out, err = run(*C, "add", "bob", "-", "--rp-id", "example.org",
                       "--origin", "https://example.org", stdin=json.dumps(tampered))
    check("add rejects a tampered attestation", rc == 1 and "attestationStatement" in err, err)
    # The §16.2 vector has no UV flag: uv=pin (the default) refuses it, uv=none accepts.
    v2 = load("none-es256")
    reg2 = {"id": b64(v2["credential_id"]), "rawId": b64(v2["credential_id"]), "type": "public-key",
            "response": {"clientDataJSON": b64(v2["registration.clientDataJSON"]),
                         "attestationObject": b64(v2["registration.attestationObject"])}}
    rc, out, err = run(*C, "add", "bob", "-", "--rp-id", "example.org",
                       "--origin", "https://example.org", stdin=json.dumps(reg2))
    check("add with uv=pin needs UV", rc == 1 and "userVerified" in err, err)
    rc, out, err = run(*C, "add", "bob", "-", "--rp-id", "example.org", "--uv", "none",
                       "--origin", "https://example.org", stdin=json.dumps(reg2))
    check("add with uv=none", rc == 0, err)

    # list
    rc, out, err = run(*C, "list", "--json")
    listed = json.loads(out) if rc == 0 else []
    check("list --json", rc == 0 and len(listed) == 2, out + err)
    check("list fields", listed and listed[0]["user"] == "alice" and listed[0]["label"] == "vector key"
          and listed[0]["kind"] == "remote" and listed[0]["rpId"] == "example.org"
          and listed[1]["uv"] == "none", str(listed))
    rc, out, err = run(*C, "list", "bob")
    check("list USER", rc == 0 and out.startswith("bob ") and "alice" not in out, out)
    # Global options also after the subcommand, in any order.
    rc, after, err = run("list", "bob", *C)
    check("--credentials after the subcommand works the same", rc == 0 and after == out,
          (rc, after, err))
    rc, out, err = run("list", "--json", "--credentials", creds, "--store", tmp)
    check("... and with --store, mixed with the subcommand's own options",
          rc == 0 and len(json.loads(out or "[]")) == 2, (rc, out, err))

    # import-u2f
    authfile = os.path.join(data_dir, "pam-u2f", "current.authfile")
    rc, out, err = run(*C, "import-u2f", authfile, "--dry-run", "--origin", "pam://host")
    lines = out.splitlines()
    check("import --dry-run prints lines", rc == 0 and len(lines) == 4
          and all(" fido2 " in l and "rp=pam://host" in l for l in lines), out + err)
    check("import --dry-run writes nothing", len(open(creds).read().splitlines()) == 3)
    rc, out, err = run(*C, "import-u2f", authfile, "--origin", "pam://host")
    check("import appends", rc == 0 and len(open(creds).read().splitlines()) == 7, out + err)
    rc, out, err = run(*C, "import-u2f", authfile, "--origin", "pam://host")
    check("import twice is refused", rc == 1 and "duplicate" in err, err)
    rc, out, err = run(*C, "import-u2f", os.path.join(data_dir, "pam-u2f", "invalid-lines.txt"))
    check("import of a bad file", rc == 2 and err.startswith("tpmauthn: import-u2f: "), err)

    # As pam-u2f reads it: a user's last line wins, an empty user is reported.
    twice = os.path.join(tmp, "twice.authfile")
    first = open(authfile).read().splitlines()[0]
    with open(twice, "w") as f:
        f.write(first + "\nerin:\n" + first.replace(":", ":", 1).split(":")[0] + ":" +
                first.split(":")[2] + "\n")
    rc, out, err = run(*C, "import-u2f", twice, "--dry-run", "--origin", "pam://host")
    check("two lines for one user: only the last imports, the earlier one is named on stderr",
          rc == 0 and len(out.splitlines()) == 1 and "twice.authfile:1: alice: skipped" in err
          and "erin: no credentials" in err, (rc, out, err))
    # SSH-format authfiles (pam-u2f's sshformat=1) need --user.
    ssh_key = os.path.join(data_dir, "pam-u2f", "upstream", "ssh_credential.cred.in")
    rc, out, err = run(*C, "import-u2f", ssh_key, "--dry-run")
    check("an SSH-format authfile without --user is a usage error",
          rc == 2 and "names no user" in err and not out, (rc, out, err))
    rc, out, err = run(*C, "import-u2f", ssh_key, "--dry-run", "--user", "alice")
    check("an SSH-format authfile with --user imports one credential for origin ssh:",
          rc == 0 and len(out.splitlines()) == 1 and out.startswith("alice ")
          and "rp=ssh:" in out, (rc, out, err))

    # A user's own authfile (pam-u2f's ~/.config/Yubico/u2f_keys) enrolls only its owner.
    lines = open(authfile).read().splitlines()
    own, others = lines[0].replace("alice:", "nobody:", 1), lines[1:]
    user_file = os.path.join(tmp, "u2f_keys")

    def owned_by_nobody(content):
        with open(user_file, "w") as f:
            f.write(content)
        os.chown(user_file, 65534, 65534)
        os.chmod(user_file, 0o600)

    owned_by_nobody("\n".join([own] + others) + "\n")
    before = open(creds).read()
    rc, out, err = run(*C, "import-u2f", user_file, "--origin", "pam://host")
    check("a user's authfile with lines for others is refused, naming them",
          rc == 1 and "belongs to nobody" in err and "bob" in err and "carol" in err, (rc, err))
    check("... and nothing was written", open(creds).read() == before)
    rc, out, err = run(*C, "import-u2f", user_file, "--user", "bob", "--origin", "pam://host")
    check("--user naming someone else than the owner is refused",
          rc == 1 and "nobody's" in err, (rc, err))
    owned_by_nobody(own + "\n")
    rc, out, err = run(*C, "import-u2f", user_file, "--dry-run", "--origin", "pam://host")
    check("a user's authfile with only their own line imports it",
          rc == 0 and out and all(l.startswith("nobody ") for l in out.splitlines()),
          (rc, out, err))
    os.chmod(user_file, 0o620)
    rc, out, err = run(*C, "import-u2f", user_file, "--dry-run")
    check("a group-writable authfile is refused", rc == 2 and "writable" in err, err)
    os.symlink(authfile, os.path.join(tmp, "u2f_link"))
    rc, out, err = run(*C, "import-u2f", os.path.join(tmp, "u2f_link"), "--dry-run")
    check("a symlinked authfile is refused", rc == 2 and "symbolic link" in err, err)
    rc, out, err = run(*C, "import-u2f", authfile, "--user", "bob", "--dry-run",
                       "--origin", "pam://host")
    check("--user picks one user's lines from a central (root's) file",
          rc == 0 and out and all(l.startswith("bob ") for l in out.splitlines()), (rc, out, err))
    rc, out, err = run(*C, "import-u2f", "-", "--dry-run", stdin=open(authfile).read())
    check("from standard input --user is required", rc == 2 and "--user" in err, err)

    # remove
    alice_id = listed[0]["credentialId"] if listed else "x"
    rc, out, err = run(*C, "remove", "alice", alice_id)
    check("remove", rc == 0, err)
    rc, out, err = run(*C, "remove", "alice", alice_id)
    check("remove twice", rc == 1 and "no credential" in err, err)
    # One id in 64 starts with '-': the usage error says to put "--" before it,
    # and with "--" the id reaches the command.
    rc, out, err = run(*C, "remove", "alice", "-Qk9zZXQ")
    check("an id starting with '-' gets a usage error that says to use --",
          rc == 2 and '"--"' in err and "-Qk9zZXQ" in err, err)
    rc, out, err = run(*C, "remove", "alice", "--", "-Qk9zZXQ")
    check("after -- an id starting with '-' is an id", rc == 1 and "no credential -Qk9zZXQ" in err, err)
    check("comment kept", open(creds).read().startswith("# test credentials\n"))

    # A broken file is reported with its name and line.
    with open(creds, "a") as f:
        f.write("zed not-enough-fields\n")
    rc, out, err = run(*C, "list")
    check("list reports FILE:LINE", rc == 2 and f"{creds}:" in err and "too few fields" in err, err)
    os.chmod(creds, 0o666)
    rc, out, err = run(*C, "list")
    check("world-writable file refused", rc == 2 and "writable" in err, err)
    link = os.path.join(tmp, "link")
    os.symlink(creds, link)
    rc, out, err = run("--credentials", link, "list")
    check("symlink refused", rc == 2 and "symbolic link" in err, err)

checks.finish()
