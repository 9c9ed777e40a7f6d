#!/usr/bin/env python3
"""Known-CVE regression suite: one case per vulnerability class that hit a
PAM authentication module or a TPM-backed key store before, each driven
end to end through the real module (pam_wrapper, libpam) or the real CLI.

usage: known_cves_test.py CASE TPMAUTHN PAMTEST_RUNNER PAM_MODULE
       (as root: some cases need a private mount namespace; exit 77 = skipped)

CASE is one of the names in CASES (see the bottom of this file); meson runs
each as its own test in the `cve` suite.
"""
import base64
import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import (Checks, Swtpm, direct_service_dir, enroll, pam_wrapper_env,  # noqa: E402
                     write_private_etc)

case, tpmauthn, runner, module = sys.argv[1:5]
SOURCE_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PAM_SUCCESS, PAM_AUTH_ERR, PAM_USER_UNKNOWN, PAM_AUTHINFO_UNAVAIL, PAM_IGNORE = 0, 7, 10, 9, 25
RP = "pam://cve"
PIN = "246810"
USER, UID = "cveuser", 4242
OTHER, OTHER_UID = "cveother", 4243
checks = Checks(verbose=True)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class World:
    """swtpm, a credentials file, a key store, a state directory, a pam.d
    directory for pam_wrapper, and (for per-user files) a private passwd with
    USER whose home lies under a world-traversable directory."""

    def __init__(self, tmp):
        self.tmp = tmp
        os.chmod(tmp, 0o755)
        self.swtpm = Swtpm(os.path.join(tmp, "tpm"))
        self.creds = os.path.join(tmp, "credentials")
        self.keys = os.path.join(tmp, "keys")
        self.state = os.path.join(tmp, "state")
        self.pamd = direct_service_dir(tmp)
        self.home = os.path.join(tmp, "home", USER)
        self.other_home = os.path.join(tmp, "home", OTHER)
        for home, uid in ((self.home, UID), (self.other_home, OTHER_UID)):
            os.makedirs(home)
            os.chown(home, uid, uid)
        open(self.creds, "w").write("# known-CVE suite\n")
        os.chmod(self.creds, 0o644)
        self.etc = os.path.join(tmp, "etc")
        os.makedirs(self.etc)
        write_private_etc(self.etc, [(USER, UID, self.home), (OTHER, OTHER_UID, self.other_home)])

    def args(self, extra="", **override):
        values = dict(credentials=self.creds, store=self.keys, state=self.state,
                      tcti=self.swtpm.tcti, rp_id=RP, origin=RP)
        values.update(override)
        return " ".join(f"{k}={v}" for k, v in values.items()) + (" " + extra if extra else "")

    def enroll(self, user=USER, uv="pin", store=None, creds=None, counter=None):
        p = enroll(tpmauthn, self.swtpm.tcti, store or self.keys, creds or self.creds, user, RP, PIN,
                   uv, counter)
        checks.check(f"enroll {user} (uv={uv})", p.returncode == 0, p.stderr)
        return [line for line in open(creds or self.creds) if line.split()[:1] == [user]][-1]

    def env(self, **extra):
        return pam_wrapper_env(self.pamd, PAM_WRAPPER_DEBUGLEVEL="3", **extra)

    def direct(self, args, pins=(PIN,), user=USER, namespace=False, **env):
        """The module's own return code on a real pam handle, and its log."""
        argv = [runner, "--direct", module, args, user, *pins]
        if namespace:
            argv = ["unshare", "-m", "sh", "-c",
                    f"mount --bind {self.etc}/passwd /etc/passwd && "
                    f"mount --bind {self.etc}/group /etc/group && exec \"$@\"", "sh", *argv]
        p = subprocess.run(argv, env=self.env(**env), capture_output=True, text=True, timeout=120)
        m = re.search(r"^result (-?\d+)$", p.stdout, re.M)
        log = "\n".join(l.split("SYSLOG", 1)[1] for l in p.stderr.splitlines() if "SYSLOG" in l)
        return (int(m.group(1)) if m else None), log, p

    def stack(self, args, pins=(PIN,), user=USER):
        """pam_authenticate over `auth required pam_tpmauthn.so` followed by
        `auth required pam_permit.so`: a module that answers PAM_IGNORE on an
        error hands the decision to pam_permit, i.e. logs the user in."""
        with open(os.path.join(self.pamd, "cve-stack"), "w") as f:
            f.write(f"auth required {module} {args}\nauth required pam_permit.so\n")
        p = subprocess.run([runner, "cve-stack", user, *pins], env=self.env(),
                           capture_output=True, text=True, timeout=120)
        m = re.search(r"^result (-?\d+)$", p.stdout, re.M)
        return int(m.group(1)) if m else None

    def stop(self):
        self.swtpm.stop()


def verify(doc):
    p = subprocess.run([tpmauthn, "verify", "-"], input=json.dumps(doc), capture_output=True,
                       text=True, timeout=60)
    try:
        verdict = json.loads(p.stdout)
    except json.JSONDecodeError:
        verdict = {}
    return p.returncode, verdict, p.stderr


def authentication_doc(response, public_key, challenge, require_uv=True, origin=RP, rp_id=RP):
    return {"kind": "authentication", "expectedChallenge": challenge, "expectedOrigin": origin,
            "expectedRPID": rp_id, "requireUserVerification": require_uv, "response": response,
            "credential": {"id": response["id"], "publicKey": public_key, "counter": 0}}


def assert_json(world, credential_id, challenge, pin=PIN):
    p = subprocess.run(["sh", "-c", 'exec "$@" 3<<EOF\n' + pin + '\nEOF', "sh", tpmauthn,
                        "--tcti", world.swtpm.tcti, "--store", world.keys, "assert", "--rp-id", RP,
                        "--origin", RP, "--credential", credential_id, "--challenge", challenge,
                        "--pin-fd", "3", "--json"], capture_output=True, text=True, timeout=60)
    checks.check("tpmauthn assert", p.returncode == 0, p.stderr)
    return json.loads(p.stdout) if p.returncode == 0 else None


# --- the cases -------------------------------------------------------------

def error_paths_never_ignore(w):
    """pam-u2f CVE-2025-23013, pam_pkcs11 CVE-2025-24531: error paths that
    returned PAM_IGNORE let the next module in the stack decide."""
    line = w.enroll()
    good = w.args()
    rc, log, _ = w.direct(good)
    checks.check("control: the right PIN logs in", rc == PAM_SUCCESS, log)
    checks.check("control: through the stack too", w.stack(good) == PAM_SUCCESS)

    counter_file = glob.glob(f"{w.state}/*.counter")[0]
    key_file = glob.glob(f"{w.keys}/*.key")[0]
    bad_creds = os.path.join(w.tmp, "bad-credentials")
    open(bad_creds, "w").write(line + "this line is not a credential\n")
    writable = os.path.join(w.tmp, "writable-credentials")
    open(writable, "w").write(line)
    os.chmod(writable, 0o666)
    linked = os.path.join(w.tmp, "linked-credentials")
    os.symlink(w.creds, linked)

    def corrupt(path, text):
        saved = open(path).read()
        open(path, "w").write(text)
        return lambda: open(path, "w").write(saved)

    cases = [
        ("invalid credentials file", w.args(credentials=bad_creds), (PIN,), None),
        ("world-writable credentials file", w.args(credentials=writable), (PIN,), None),
        ("credentials file is a symlink", w.args(credentials=linked), (PIN,), None),
        ("TPM unreachable", w.args(tcti=f"swtpm:path={w.tmp}/no-such-tpm"), (PIN,), None),
        ("unknown module option", w.args("frobnicate=1"), (PIN,), None),
        ("malformed max_tries", w.args("max_tries=lots"), (PIN,), None),
        ("conversation gives no PIN", good, (), None),
        ("NULL PIN reply", good, ("--null-reply",), None),
        ("wrong PIN", good, ("999999",), None),
        ("corrupt counter state", good, (PIN,), lambda: corrupt(counter_file, "garbage\n")),
        ("corrupt key file", good, (PIN,), lambda: corrupt(key_file, "{not json")),
    ]
    for name, args, pins, breaker in cases:
        restore = breaker() if breaker else None
        rc, log, _ = w.direct(args, pins)
        checks.check(f"{name}: the module's result is neither success nor ignore ({rc})",
                     rc is not None and rc not in (PAM_SUCCESS, PAM_IGNORE), log)
        checks.check(f"{name}: 'auth required' followed by pam_permit does not log in",
                     w.stack(args, pins) not in (PAM_SUCCESS, None))
        if restore:
            restore()
    rc, _, _ = w.direct(good, user="nobody-enrolled")
    checks.check("a user without credentials is PAM_USER_UNKNOWN (ignore only with nouserok)",
                 rc == PAM_USER_UNKNOWN, rc)


def uv_and_null_pin(w):
    """pam-u2f CVE-2021-31924: the UV flag was not checked, and a NULL PIN
    reply from the conversation was accepted."""
    w.enroll()
    for pins, what in ((("--null-reply",), "a NULL reply"), (("",), "an empty PIN"), ((), "no reply")):
        rc, log, _ = w.direct(w.args(), pins)
        checks.check(f"{what} to the PIN prompt is PAM_AUTH_ERR", rc == PAM_AUTH_ERR, (rc, log))
    # A credential without user verification (uv=none) under uv=required.
    shutil.rmtree(w.keys)
    open(w.creds, "w").write("")
    line = w.enroll(uv="none")
    rc, log, _ = w.direct(w.args(), ())
    checks.check("uv=required refuses a credential that cannot verify the user",
                 rc not in (PAM_SUCCESS, PAM_IGNORE, None), (rc, log))
    rc, log, _ = w.direct(w.args("uv=discouraged"), ())
    checks.check("control: with uv=discouraged the same credential logs in", rc == PAM_SUCCESS, log)
    fields = line.split()
    challenge = b64(os.urandom(32))
    response = assert_json(w, fields[1], challenge)
    if response:
        flags = unb64(response["response"]["authenticatorData"])[32]
        checks.check("the TPM's assertion for a uv=none key has UV clear", not flags & 0x04, flags)
        code, verdict, _ = verify(authentication_doc(response, fields[3], challenge, require_uv=True))
        checks.check("the verifier refuses it when UV is required, naming the check",
                     code == 1 and "verif" in verdict.get("check", "").lower(), verdict)
        forged = dict(response, response=dict(response["response"]))
        auth_data = bytearray(unb64(response["response"]["authenticatorData"]))
        auth_data[32] |= 0x04
        forged["response"]["authenticatorData"] = b64(bytes(auth_data))
        code, verdict, _ = verify(authentication_doc(forged, fields[3], challenge, require_uv=True))
        checks.check("setting the UV bit afterwards breaks the signature",
                     code == 1 and verdict.get("check") == "signature", verdict)


def eacces_is_not_unenrolled(w):
    """pam-u2f CVE-2020-24612: with nouserok, a per-user file the module could
    not read (EACCES) counted as 'not enrolled' and was ignored."""
    config = os.path.join(w.home, ".config", "tpmauthn")
    os.makedirs(config)
    for d in (os.path.dirname(config), config):
        os.chown(d, UID, UID)
    personal = os.path.join(config, "credentials")
    open(personal, "w").write("# root-only\n")
    os.chmod(personal, 0o600)  # root's, so the user (whose rights are used) cannot read it
    rc, log, _ = w.direct(w.args("user_credentials nouserok"), namespace=True)
    checks.check("unreadable per-user file with nouserok -> PAM_AUTHINFO_UNAVAIL",
                 rc == PAM_AUTHINFO_UNAVAIL, (rc, log))
    checks.check("... and the log names the permission problem", "ermission" in log, log)
    os.unlink(personal)
    os.chmod(config, 0o000)
    rc, log, _ = w.direct(w.args("user_credentials nouserok"), namespace=True)
    checks.check("unreadable ~/.config/tpmauthn directory with nouserok -> PAM_AUTHINFO_UNAVAIL",
                 rc == PAM_AUTHINFO_UNAVAIL, (rc, log))
    os.chmod(config, 0o755)
    rc, log, _ = w.direct(w.args("user_credentials nouserok"), namespace=True)
    checks.check("control: no per-user file at all with nouserok -> PAM_IGNORE", rc == PAM_IGNORE,
                 (rc, log))


def symlink_to_root_file(w):
    """pam-u2f CVE-2019-12209: a per-user file symlinked to a root-only file
    was read with root's rights, and its contents could reach the log."""
    secret = os.path.join(w.tmp, "root-only-secret")
    open(secret, "w").write("SECRET-MARKER-7f3a9 root:$6$salt$hash:19000::::::\n")
    os.chmod(secret, 0o600)
    config = os.path.join(w.home, ".config", "tpmauthn")
    os.makedirs(config)
    for d in (os.path.dirname(config), config):
        os.chown(d, UID, UID)
    personal = os.path.join(config, "credentials")
    os.symlink(secret, personal)
    rc, log, p = w.direct(w.args("user_credentials debug"), namespace=True)
    checks.check("symlinked per-user file -> PAM_AUTHINFO_UNAVAIL", rc == PAM_AUTHINFO_UNAVAIL,
                 (rc, log))
    checks.check("nothing of the target reaches the log or the conversation",
                 "SECRET-MARKER" not in p.stderr and "SECRET-MARKER" not in p.stdout, log)
    # Even a symlink to a readable file holding a valid line is refused.
    line = w.enroll(creds=os.path.join(w.tmp, "readable-credentials"))
    os.chmod(os.path.join(w.tmp, "readable-credentials"), 0o644)
    os.unlink(personal)
    os.symlink(os.path.join(w.tmp, "readable-credentials"), personal)
    rc, log, _ = w.direct(w.args("user_credentials"), namespace=True)
    checks.check("a symlink to a readable, valid file is refused too (O_NOFOLLOW)",
                 rc == PAM_AUTHINFO_UNAVAIL and ("symbolic link" in log or "symlink" in log),
                 (rc, log, line))


def descriptors_do_not_leak(w):
    """pam-u2f CVE-2019-12210: descriptors the module opened leaked into
    processes the application started (e.g. from the conversation)."""
    w.enroll()
    listing = os.path.join(w.tmp, "child-fds")
    # The conversation runs a child while the module waits for the PIN; the
    # child lists the descriptors it inherited (beyond stdin/out/err).
    # (`exec ls`: no shell of its own in between; ls's only own descriptors
    # are its stdout, the listing, and the directory it reads.)
    hook = f"exec ls -l /proc/self/fd > {listing}"
    rc, log, _ = w.direct(w.args("cue"), TPMAUTHN_TEST_ON_PROMPT=hook)
    checks.check("control: the login succeeds", rc == PAM_SUCCESS, log)
    entries = [l.split()[-3:] for l in open(listing).read().splitlines() if " -> " in l]
    inherited = [" ".join(e) for e in entries
                 if int(e[0]) > 2 and e[2] != listing and not e[2].startswith("/proc/")]
    checks.check("the listing saw the child's descriptors", len(entries) >= 3, entries)
    checks.check("a child of the conversation inherits no descriptor of the module "
                 "(files, TPM sockets, locks)", not inherited, inherited)
    # Every descriptor the sources open is close-on-exec.
    offenders = []
    for path in glob.glob(f"{SOURCE_ROOT}/*/*.cc"):
        if "/tests/" in path or "/bench/" in path:
            continue
        for number, text in enumerate(open(path), 1):
            if re.search(r"::(open|openat|socket|accept|pipe|dup|memfd_create)\(|\bfopen\(", text) \
                    and "CLOEXEC" not in text and "\"re\"" not in text and "\"we\"" not in text:
                offenders.append(f"{os.path.relpath(path, SOURCE_ROOT)}:{number}: {text.strip()}")
    checks.check("every open/socket/pipe in the sources asks for O_CLOEXEC", not offenders, offenders)


def environment_cannot_redirect(w):
    """The per-user file's path must come from the passwd entry, never from
    $HOME or $XDG_CONFIG_HOME (which the user controls, e.g. under sudo)."""
    line = w.enroll(creds=os.path.join(w.tmp, "elsewhere"))
    attacker = os.path.join(w.tmp, "attacker")
    os.makedirs(os.path.join(attacker, ".config", "tpmauthn"))
    open(os.path.join(attacker, ".config", "tpmauthn", "credentials"), "w").write(line)
    rc, log, _ = w.direct(w.args("user_credentials"), namespace=True, HOME=attacker,
                          XDG_CONFIG_HOME=os.path.join(attacker, ".config"))
    checks.check("HOME/XDG_CONFIG_HOME pointing at a file with a valid line: not used "
                 "(PAM_USER_UNKNOWN)", rc == PAM_USER_UNKNOWN, (rc, log))
    real = os.path.join(w.home, ".config", "tpmauthn")
    os.makedirs(real)
    open(os.path.join(real, "credentials"), "w").write(line)
    rc, log, _ = w.direct(w.args("user_credentials"), namespace=True, HOME=attacker)
    checks.check("control: the same line in the passwd home logs in", rc == PAM_SUCCESS, (rc, log))


def long_line_keeps_pin(w):
    """A line longer than the reader's buffer was cut, and a PIN/UV
    requirement at its end silently dropped (pam-u2f's `+pin`)."""
    line = w.enroll().split()
    user, cred_id, alg, key, kind, attributes = line[:6]
    attributes = ",".join(a for a in attributes.split(",") if not a.startswith("uv="))
    long_attributes = attributes + ",origin=" + RP + "/" + "a" * 20000 + ",uv=pin"
    open(w.creds, "w").write(" ".join([user, cred_id, alg, key, kind, long_attributes,
                                       "2026-11-29", "long"]) + "\n")
    rc, log, _ = w.direct(w.args())
    checks.check("a 20 KB line is an error (PAM_AUTHINFO_UNAVAIL), not a cut line",
                 rc == PAM_AUTHINFO_UNAVAIL, (rc, log))
    checks.check("... naming the file and line", f"{w.creds}:1" in log, log)
    p = subprocess.run([tpmauthn, "--credentials", w.creds, "list"], capture_output=True, text=True)
    checks.check("`tpmauthn list` refuses it too (exit 2)", p.returncode == 2, (p.returncode, p.stderr))


def fresh_signature_required(w):
    """pam_pkcs11 CVE-2025-24032: a token was accepted without a signature
    over a fresh challenge. Here: remote mode, a recorded reply replayed, a
    reply without a signature, one for another challenge."""
    line = w.enroll(creds=os.path.join(w.tmp, "client-credentials"), store=os.path.join(w.tmp, "client"))
    reg = line.split()
    remote = " ".join([reg[0], reg[1], reg[2], reg[3], "remote", reg[5], reg[6], "laptop"])
    open(w.creds, "w").write(remote + "\n")
    recorded = os.path.join(w.tmp, "recorded-reply")
    respond = (f"printf '%s\\n' {PIN} | {tpmauthn} --tcti {w.swtpm.tcti} --store {w.tmp}/client "
               f"respond --origin {RP} --pin-fd 0 \"$TPMAUTHN_TEST_PROMPT\" | tee {recorded}")
    args = w.args("mode=remote", tcti="swtpm:path=/no-tpm-on-the-server")
    rc, log, _ = w.direct(args, (), TPMAUTHN_TEST_ANSWER_CMD=respond)
    checks.check("control: a fresh reply from the client's TPM logs in", rc == PAM_SUCCESS, (rc, log))
    reply = open(recorded).read().strip()
    rc, log, _ = w.direct(args, (), TPMAUTHN_TEST_ANSWER_CMD=f"cat {recorded}")
    checks.check("the same reply replayed -> PAM_AUTH_ERR", rc == PAM_AUTH_ERR, (rc, log))
    checks.check("... refused at the challenge", "challenge" in log, log)
    # The reply without its signature (sig_len 0).
    body = unb64(reply.split(" ", 1)[1])
    id_len = int.from_bytes(body[1:3], "big")
    ad_at = 3 + id_len
    ad_len = int.from_bytes(body[ad_at:ad_at + 2], "big")
    sig_at = ad_at + 2 + ad_len
    sig_len = int.from_bytes(body[sig_at:sig_at + 2], "big")
    unsigned = body[:sig_at] + b"\x00\x00" + body[sig_at + 2 + sig_len:]
    open(recorded, "w").write("tpmauthn-reply-v1 " + b64(unsigned) + "\n")
    rc, log, _ = w.direct(args, (), TPMAUTHN_TEST_ANSWER_CMD=f"cat {recorded}")
    checks.check("a reply without a signature -> PAM_AUTH_ERR", rc == PAM_AUTH_ERR, (rc, log))


def challenges_from_the_csprng(w):
    """Challenges must be fresh, unpredictable and 32 bytes, from the kernel
    CSPRNG for every attempt (a reused or predictable challenge makes a
    recorded answer replayable)."""
    reg = w.enroll(creds=os.path.join(w.tmp, "client-credentials")).split()
    open(w.creds, "w").write(" ".join([reg[0], reg[1], reg[2], reg[3], "remote", reg[5], reg[6],
                                       "x"]) + "\n")
    prompts = os.path.join(w.tmp, "prompts")
    record = f"printf '%s\\n' \"$TPMAUTHN_TEST_PROMPT\" >> {prompts}; echo"
    for _ in range(64):
        w.direct(w.args("mode=remote"), (), TPMAUTHN_TEST_ANSWER_CMD=record)
    challenges = []
    for text in open(prompts).read().splitlines():
        m = re.search(r"tpmauthn-request-v1 (\S+)", text)
        if m:
            challenges.append(unb64(m.group(1))[2:34])
    checks.check("64 logins each got a request", len(challenges) == 64, len(challenges))
    checks.check("every challenge is 32 bytes", all(len(c) == 32 for c in challenges))
    checks.check("no challenge repeats", len(set(challenges)) == len(challenges))
    ones = sum(bin(byte).count("1") for c in challenges for byte in c)
    checks.check("the bits look random (ones between 45% and 55%)",
                 0.45 < ones / (len(challenges) * 256) < 0.55, ones)
    source = open(os.path.join(SOURCE_ROOT, "pam_module", "relying_party.cc")).read()
    checks.check("the relying party takes them from getrandom(2)", "::getrandom(" in source)


def rsa_4096(w):
    """pam_p11 CVE-2019-16058: an RSA-4096 key overflowed a fixed buffer."""
    key = os.path.join(w.tmp, "rsa.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096",
                    "-out", key], check=True, capture_output=True)
    modulus = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"], check=True,
                             capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    n = bytes.fromhex(modulus)
    checks.check("the key has a 512-byte modulus", len(n) == 512, len(n))
    cose = (b"\xa4" + b"\x01\x03" + b"\x03\x39\x01\x00" + b"\x20\x59" + len(n).to_bytes(2, "big") + n
            + b"\x21\x43\x01\x00\x01")
    challenge = b64(os.urandom(32))
    client_data = json.dumps({"type": "webauthn.get", "challenge": challenge, "origin": RP,
                              "crossOrigin": False}, separators=(",", ":")).encode()
    auth_data = hashlib.sha256(RP.encode()).digest() + b"\x05" + (1).to_bytes(4, "big")
    signed = os.path.join(w.tmp, "signed")
    open(signed, "wb").write(auth_data + hashlib.sha256(client_data).digest())
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key, signed], check=True,
                               capture_output=True).stdout
    cred_id = os.urandom(16)
    response = {"id": b64(cred_id), "rawId": b64(cred_id), "type": "public-key",
                "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                             "signature": b64(signature), "userHandle": None},
                "clientExtensionResults": {}}
    code, verdict, err = verify(authentication_doc(response, b64(cose), challenge))
    checks.check("an RS256 assertion with a 4096-bit key verifies", code == 0, (verdict, err))
    for what, bad_signature in (("a 4096-byte signature", os.urandom(4096)),
                                ("a 513-byte signature", b"\x01" + signature),
                                ("an empty signature", b"")):
        forged = json.loads(json.dumps(response))
        forged["response"]["signature"] = b64(bad_signature)
        code, verdict, err = verify(authentication_doc(forged, b64(cose), challenge))
        checks.check(f"{what} is refused cleanly (exit 1, check signature)",
                     code == 1 and verdict.get("check") == "signature", (code, verdict, err))
    huge = b"\xff" * 2048
    huge_cose = (b"\xa4\x01\x03\x03\x39\x01\x00\x20\x59" + len(huge).to_bytes(2, "big") + huge
                 + b"\x21\x43\x01\x00\x01")
    code, verdict, err = verify(authentication_doc(response, b64(huge_cose), challenge))
    checks.check("a 16384-bit stored key is refused, not processed", code in (1, 2), (code, verdict, err))
    open(w.creds, "w").write(f"{USER} {b64(cred_id)} rs256 {b64(cose)} fido2 uv=pin 2026-11-29 rsa\n")
    p = subprocess.run([tpmauthn, "--credentials", w.creds, "list"], capture_output=True, text=True)
    checks.check("a credentials line with the 4096-bit key parses", p.returncode == 0, p.stderr)


def no_offline_pin_guessing(w):
    """tpm2-pkcs11 #278: material on disk allowed checking PIN guesses
    without the TPM (and so without its lockout)."""
    w.enroll()
    (key_file,) = glob.glob(f"{w.keys}/*.key")
    record = json.load(open(key_file))
    salt = unb64(record["pinSalt"])
    auth_value = hmac.new(salt, PIN.encode(), hashlib.sha256).digest().rstrip(b"\x00")
    forms = {auth_value, auth_value.hex().encode(), b64(auth_value).encode(),
             base64.b64encode(auth_value), hashlib.sha256(PIN.encode()).digest(),
             hashlib.sha256(PIN.encode()).hexdigest().encode(), PIN.encode()}
    w.direct(w.args())
    stored = [p for d in (w.keys, w.state) for p in glob.glob(f"{d}/*")] + [w.creds]
    found = [(path, form[:8]) for path in stored for form in forms
             if os.path.isfile(path) and form in open(path, "rb").read()]
    checks.check("neither the PIN, its hash nor the authValue is stored anywhere", not found, found)
    public = unb64(record["public"])
    attributes = int.from_bytes(public[6:10], "big")  # TPM2B size, type, nameAlg, objectAttributes
    checks.check("the key is fixedTPM, fixedParent, sensitiveDataOrigin",
                 attributes & 0x32 == 0x32, hex(attributes))
    checks.check("the key has no authValue use (userWithAuth clear) and is noDA: only its "
                 "policy, PolicySecret(its own PIN index), authorizes it",
                 attributes & 0x400 and not attributes & 0x40, hex(attributes))

    def lockout_counter():
        out = subprocess.run(["tpm2_getcap", "-T", w.swtpm.tcti, "properties-variable"],
                             capture_output=True, text=True, check=True).stdout
        return int(re.search(r"TPM2_PT_LOCKOUT_COUNTER:\s*(\S+)", out).group(1), 0)

    def pin_count():  # pinCount of TPMS_NV_PIN_COUNTER_PARAMETERS, read by the owner
        out = subprocess.run(["tpm2_nvread", "-T", w.swtpm.tcti, "-C", "o", "-s", "8",
                              hex(record["pinIndex"])], capture_output=True, check=True).stdout
        return int.from_bytes(out[:4], "big")

    before = (pin_count(), lockout_counter())
    rc, _, _ = w.direct(w.args("max_tries=1"), ("000000",))
    checks.check("a wrong guess is refused", rc in (PAM_AUTH_ERR, 11), rc)
    checks.check("... and the TPM counted it against the credential's own PIN index, not the "
                 "machine's lockout", (pin_count(), lockout_counter()) == (before[0] + 1, before[1]),
                 (before, pin_count(), lockout_counter()))
    other = Swtpm(os.path.join(w.tmp, "other-tpm"))
    try:
        p = subprocess.run(["sh", "-c", 'exec "$@" 3<<EOF\n' + PIN + '\nEOF', "sh", tpmauthn,
                            "--tcti", other.tcti, "--store", w.keys, "assert", "--rp-id", RP,
                            "--origin", RP, "--credential", os.path.basename(key_file)[:-4],
                            "--challenge", b64(os.urandom(32)), "--pin-fd", "3", "--json"],
                           capture_output=True, text=True, timeout=60)
        checks.check("the key file is useless on another TPM, even with the right PIN (exit 3)",
                     p.returncode == 3, (p.returncode, p.stderr))
    finally:
        other.stop()


def personal_file(home, uid, lines):
    """~/.config/tpmauthn/credentials of the user at `home`, owned by them."""
    config = os.path.join(home, ".config", "tpmauthn")
    os.makedirs(config, exist_ok=True)
    for d in (os.path.dirname(config), config):
        os.chown(d, uid, uid)
    path = os.path.join(config, "credentials")
    with open(path, "w") as f:
        f.write("".join(lines))
    os.chown(path, uid, uid)
    return path


def counter_files(state):
    return {os.path.basename(f): open(f).read().split()[2] for f in glob.glob(f"{state}/*.counter")}


def borrowed_credential_ids(w):
    """Cross-user state: credential ids are public (the central file is
    0644). A user who writes another user's id into their own personal file
    with their own key, and signs with signCount 0xFFFFFFFF in remote mode,
    must neither log in as that credential nor move that user's counter (else
    the other user is locked out as a "clone" until an admin steps in)."""
    # The victim: a TPM credential in the central file.
    victim = w.enroll().split()
    # The attacker's own key on a client TPM, its key record renamed to the
    # victim's credential id and set to sign with counter 0xFFFFFFFF next.
    client = os.path.join(w.tmp, "client")
    # (The key file's own counter, so that editing it sets the next signCount.)
    mine = w.enroll(user=OTHER, creds=os.path.join(w.tmp, "client-credentials"), store=client,
                    counter="file")
    mine = mine.split()
    (key_file,) = glob.glob(f"{client}/*.key")
    record = json.load(open(key_file))
    record["credentialId"], record["counter"] = victim[1], 0xFFFFFFFE
    os.unlink(key_file)
    borrowed_key = os.path.join(client, victim[1] + ".key")
    with open(borrowed_key, "w") as f:
        json.dump(record, f)
    os.chmod(borrowed_key, 0o600)
    respond = (f"printf '%s\\n' {PIN} | {tpmauthn} --tcti {w.swtpm.tcti} --store {client} "
               f"respond --origin {RP} --pin-fd 0 \"$TPMAUTHN_TEST_PROMPT\"")
    line = " ".join([OTHER, victim[1], mine[2], mine[3], "remote", mine[5], mine[6], "borrowed"])
    personal_file(w.other_home, OTHER_UID, [line + "\n"])
    remote = w.args("mode=remote user_credentials")
    rc, log, _ = w.direct(remote, (), user=OTHER, namespace=True, TPMAUTHN_TEST_ANSWER_CMD=respond)
    checks.check("a personal line with an id from the central file -> PAM_AUTHINFO_UNAVAIL",
                 rc == PAM_AUTHINFO_UNAVAIL, (rc, log))
    checks.check("... and the log names the central file's line", f"{w.creds}:" in log, log)
    checks.check("... and no counter file was written", not counter_files(w.state),
                 counter_files(w.state))
    rc, log, _ = w.direct(w.args())
    checks.check("the victim logs in afterwards", rc == PAM_SUCCESS, (rc, log))

    # The same id with a key in this machine's store enrolled for the victim,
    # once the central line is gone (say, moved to the victim's own file).
    open(w.creds, "w").write("# known-CVE suite\n")
    personal_file(w.home, UID, [" ".join(victim) + "\n"])
    rc, log, _ = w.direct(remote, (), user=OTHER, namespace=True, TPMAUTHN_TEST_ANSWER_CMD=respond)
    checks.check("a personal line naming another user's key on this machine -> "
                 "PAM_AUTHINFO_UNAVAIL", rc == PAM_AUTHINFO_UNAVAIL and "enrolled for " + USER in log,
                 (rc, log))

    # Nothing can tell when the victim's credential lives only on the
    # victim's client (a remote line in the victim's own file): the attacker
    # logs in as themselves with their own key, as they may; the counters
    # must still be apart.
    victim_client = os.path.join(w.tmp, "victim-client")
    theirs = w.enroll(creds=os.path.join(w.tmp, "victim-client-credentials"),
                      store=victim_client).split()
    personal_file(w.home, UID, [" ".join([USER, theirs[1], theirs[2], theirs[3], "remote",
                                          theirs[5], theirs[6], "laptop"]) + "\n"])
    os.rename(borrowed_key, os.path.join(client, theirs[1] + ".key"))
    record["credentialId"] = theirs[1]
    with open(os.path.join(client, theirs[1] + ".key"), "w") as f:
        json.dump(record, f)
    line = " ".join([OTHER, theirs[1], mine[2], mine[3], "remote", mine[5], mine[6], "borrowed"])
    personal_file(w.other_home, OTHER_UID, [line + "\n"])
    rc, log, _ = w.direct(remote, (), user=OTHER, namespace=True, TPMAUTHN_TEST_ANSWER_CMD=respond)
    checks.check("control: the other user logs in as themselves with their own key",
                 rc == PAM_SUCCESS, (rc, log))
    checks.check("... having signed with counter 4294967295",
                 "4294967295" in counter_files(w.state).values(), counter_files(w.state))
    victim_respond = (f"printf '%s\\n' {PIN} | {tpmauthn} --tcti {w.swtpm.tcti} "
                      f"--store {victim_client} respond --origin {RP} --pin-fd 0 "
                      "\"$TPMAUTHN_TEST_PROMPT\"")
    rc, log, _ = w.direct(remote, (), namespace=True, TPMAUTHN_TEST_ANSWER_CMD=victim_respond)
    checks.check("the victim still logs in with the same credential id (counters kept per user)",
                 rc == PAM_SUCCESS, (rc, log))


def untrusted_state_directory(w):
    """The counter state decides whether a login is a replay or a clone: its
    directory, and every directory above it, must be root's and closed to
    others, checked without following symbolic links; a missing parent is
    not created."""
    w.enroll()
    rc, log, _ = w.direct(w.args())
    checks.check("control: the login succeeds with a root-owned state directory",
                 rc == PAM_SUCCESS, (rc, log))
    others = os.path.join(w.tmp, "state-of-another")
    os.mkdir(others, 0o700)
    os.chown(others, OTHER_UID, OTHER_UID)
    rc, log, _ = w.direct(w.args(state=others))
    checks.check("a state directory owned by another user -> PAM_AUTHINFO_UNAVAIL, logged",
                 rc == PAM_AUTHINFO_UNAVAIL and f"owned by uid {OTHER_UID}" in log, (rc, log))
    checks.check("... and nothing was written in it", not os.listdir(others), os.listdir(others))
    open_parent = os.path.join(w.tmp, "open")
    os.mkdir(open_parent)
    os.chmod(open_parent, 0o777)
    rc, log, _ = w.direct(w.args(state=os.path.join(open_parent, "state")))
    checks.check("a world-writable parent -> PAM_AUTHINFO_UNAVAIL, logged",
                 rc == PAM_AUTHINFO_UNAVAIL and "writable by group or others" in log, (rc, log))
    os.symlink(w.state, os.path.join(w.tmp, "state-link"))
    rc, log, _ = w.direct(w.args(state=os.path.join(w.tmp, "state-link")))
    checks.check("a symbolic link -> PAM_AUTHINFO_UNAVAIL, logged",
                 rc == PAM_AUTHINFO_UNAVAIL and "symbolic link" in log, (rc, log))
    missing = os.path.join(w.tmp, "missing", "state")
    rc, log, _ = w.direct(w.args(state=missing))
    checks.check("a missing parent -> PAM_AUTHINFO_UNAVAIL, and it is not created",
                 rc == PAM_AUTHINFO_UNAVAIL and not os.path.exists(os.path.dirname(missing)),
                 (rc, log))


CASES = {
    "CVE-2025-23013": error_paths_never_ignore,
    "CVE-2021-31924": uv_and_null_pin,
    "CVE-2020-24612": eacces_is_not_unenrolled,
    "CVE-2019-12209": symlink_to_root_file,
    "CVE-2019-12210": descriptors_do_not_leak,
    "env-redirect": environment_cannot_redirect,
    "long-line-pin": long_line_keeps_pin,
    "CVE-2025-24032": fresh_signature_required,
    "challenge-csprng": challenges_from_the_csprng,
    "CVE-2019-16058": rsa_4096,
    "tpm2-pkcs11-278": no_offline_pin_guessing,
    "cross-user-counter": borrowed_credential_ids,
    "state-directory": untrusted_state_directory,
}

if os.geteuid() != 0:
    print("skipped: needs root (private mount namespaces, files of other users)")
    sys.exit(77)
print(CASES[case].__doc__.strip())
with tempfile.TemporaryDirectory() as tmp:
    world = World(tmp)
    try:
        CASES[case](world)
    finally:
        world.stop()
checks.finish()
