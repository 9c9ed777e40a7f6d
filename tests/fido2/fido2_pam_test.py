#!/usr/bin/env python3
"""A pam-u2f user moves over: their security key's authfile line goes through
`tpmauthn import-u2f`, and pam_tpmauthn.so logs them in with the same key.

The key is an in-memory CTAP2 key (tests/support/fake_fido2_device.h) kept in
a JSON file; fake_fido2_preload.so makes it what libfido2's own discovery
finds in the module's process (there is no USB, hidraw or uhid here). The
module is called on a real pam handle (pamtest_runner --direct) under
pam_wrapper. Checked as a user would: the result, the prompts and messages,
the stored counter, and on the key what it was asked.

usage: fido2_pam_test.py TPMAUTHN PAMTEST_RUNNER PAM_MODULE PRELOAD KEY_TOOL
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, direct_service_dir, login_paths, pam_wrapper_env  # noqa: E402

tpmauthn, runner, module, preload, key_tool = sys.argv[1:6]
checks = Checks(verbose=True)
PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL = 0, 7, 9
RP = "pam://fido2-mig"

with tempfile.TemporaryDirectory() as tmp:
    keys_dir = os.path.join(tmp, "keys-plugged-in")
    os.mkdir(keys_dir)
    key = os.path.join(keys_dir, "a.json")
    creds, _, state = login_paths(tmp, "fido2 login test")
    pamd = direct_service_dir(tmp)

    def tool(*args):
        p = subprocess.run([key_tool, *args], capture_output=True, text=True, check=True)
        return p.stdout

    def stored_counter(path):
        # "tpmauthn-counter 1 <count> <checksum>"
        return int(open(path).read().split()[2])

    def key_state(path=key):
        with open(path) as f:
            return json.load(f)

    def edit_key(path=key, **changes):
        k = key_state(path)
        k.update(changes)
        with open(path, "w") as f:
            json.dump(k, f)

    def login(pins=(), extra="", plugged=keys_dir):
        args = f"credentials={creds} state={state} rp_id={RP} origin={RP} {extra}".strip()
        env = pam_wrapper_env(pamd, preload=[preload], TPMAUTHN_TEST_FIDO2_KEYS=plugged)
        p = subprocess.run([runner, "--direct", module, args, "mig", *pins], env=env,
                           capture_output=True, text=True, timeout=120)
        rc = None
        for line in p.stdout.splitlines():
            if line.startswith("result "):
                rc = int(line.split()[1])
        return rc, p.stdout.splitlines()

    # A pam-u2f user: one key, touch only (pamu2fcfg's default).
    tool("new", key)
    made = json.loads(tool("add", key, RP))
    authfile = os.path.join(tmp, "u2f_keys")
    with open(authfile, "w") as f:
        f.write(f"mig:{made['pam_u2f']},+presence\n")
    p = subprocess.run([tpmauthn, "--credentials", creds, "import-u2f", authfile,
                        "--origin", RP], capture_output=True, text=True)
    checks.check("import-u2f adds the key's line", p.returncode == 0, p.stderr)
    line = [l for l in open(creds) if l.startswith("mig ")]
    checks.check("the line is a fido2 credential with the key's id",
                 len(line) == 1 and line[0].split()[1] == made["id"] and
                 line[0].split()[4] == "fido2", line)

    # As pam-u2f did: a touch, no PIN (uv=discouraged keeps pam-u2f's behaviour).
    rc, out = login(extra="uv=discouraged")
    checks.check("the imported key logs in with a touch", rc == PAM_SUCCESS, out)
    checks.check("the cue comes first and no PIN is asked",
                 out[1:] == ["info Touch your security key."], out)
    counters = glob.glob(os.path.join(state, "*.counter"))
    k = key_state()
    checks.check("the key's counter is stored",
                 len(counters) == 1 and stored_counter(counters[0]) == k["counter"],
                 (counters, k["counter"]))
    checks.check("the key was asked once silently, touched once",
                 k["seen"]["silent"] == 1 and k["seen"]["touch"] == 1, k["seen"])

    # The module's default uv=required: the key's PIN is asked, a wrong one says
    # how many tries the key has left, the right one logs in.
    k = key_state()
    k["pin"] = "482915"
    with open(key, "w") as f:
        json.dump(k, f)
    rc, out = login(pins=["000000", "482915"])
    checks.check("uv=required asks the key's PIN; wrong then right logs in",
                 rc == PAM_SUCCESS and "error Wrong PIN. 7 tries left." in out, out)
    checks.check("the PIN is back to 8 tries after the right one",
                 key_state()["retries"] == 8, key_state()["retries"])

    # try_first_pass: PAM_AUTHTOK (the login password, here) never goes to the
    # key as its PIN; the key's PIN is asked, and no try is spent.
    set_items = glob.glob("/usr/lib/*/pam_wrapper/pam_set_items.so")[0]
    with open(os.path.join(pamd, "fido2-first-pass"), "w") as f:
        f.write(f"auth required {set_items}\n"
                f"auth required {module} credentials={creds} state={state} rp_id={RP} "
                f"origin={RP} try_first_pass\n")
    env = pam_wrapper_env(pamd, preload=[preload], TPMAUTHN_TEST_FIDO2_KEYS=keys_dir,
                          PAM_AUTHTOK="the-login-password")
    p = subprocess.run([runner, "fido2-first-pass", "mig", "482915"], env=env,
                       capture_output=True, text=True, timeout=60)
    checks.check("try_first_pass: the key's PIN is asked, not taken from PAM_AUTHTOK",
                 p.stdout.startswith("result 0") and "error Wrong PIN" not in p.stdout,
                 p.stdout + p.stderr[-300:])
    checks.check("... and no PIN try of the key was spent", key_state()["retries"] == 8,
                 key_state()["retries"])

    # A key whose counter went back (a clone, or a replayed key state) is refused.
    stored = stored_counter(counters[0])
    edit_key(counter=1)
    rc, out = login(extra="uv=discouraged")
    checks.check("a counter that went back is PAM_AUTH_ERR", rc == PAM_AUTH_ERR, out)
    checks.check("the stored counter is kept",
                 stored_counter(counters[0]) == stored)
    edit_key(counter=stored + 10)

    # A touch that never comes: the request is cancelled on the key.
    edit_key(touched=False)
    rc, out = login(extra="uv=discouraged timeout=5")
    checks.check("no touch: refused, and the user is told",
                 rc == PAM_AUTH_ERR and "error The security key was not touched in time." in out,
                 out)
    checks.check("no touch: the key got a cancel", key_state()["seen"]["cancels"] == 1,
                 key_state()["seen"])
    edit_key(touched=True)

    # No key plugged in: unavailable, so `sufficient` stacks reach the password.
    empty = os.path.join(tmp, "nothing-plugged-in")
    os.mkdir(empty)
    rc, out = login(extra="uv=discouraged", plugged=empty)
    checks.check("no key: PAM_AUTHINFO_UNAVAIL and 'No security key found.'",
                 rc == PAM_AUTHINFO_UNAVAIL and "error No security key found." in out, out)

    # Another key plugged in that holds only someone else's credential.
    other_dir = os.path.join(tmp, "other-key")
    os.mkdir(other_dir)
    other = os.path.join(other_dir, "b.json")
    tool("new", other)
    tool("add", other, RP)
    rc, out = login(extra="uv=discouraged", plugged=other_dir)
    checks.check("a key without the user's credential: unavailable, never touched",
                 rc == PAM_AUTHINFO_UNAVAIL and key_state(other)["seen"]["touch"] == 0, out)

    # An Ed25519 (pam-u2f "eddsa") credential on the same key.
    ed = json.loads(tool("add", key, RP, "eddsa"))
    with open(authfile, "w") as f:
        f.write(f"ed:{ed['pam_u2f']},+presence\n")
    p = subprocess.run([tpmauthn, "--credentials", creds, "import-u2f", authfile,
                        "--origin", RP], capture_output=True, text=True)
    checks.check("an eddsa line imports", p.returncode == 0 and
                 any(l.split()[:3] == ["ed", ed["id"], "eddsa"] for l in open(creds)), p.stderr)
    env = pam_wrapper_env(pamd, preload=[preload], TPMAUTHN_TEST_FIDO2_KEYS=keys_dir)
    p = subprocess.run([runner, "--direct", module,
                        f"credentials={creds} state={state} rp_id={RP} origin={RP} uv=discouraged",
                        "ed"], env=env, capture_output=True, text=True, timeout=60)
    checks.check("the eddsa credential logs in", p.stdout.startswith("result 0"),
                 p.stdout + p.stderr)

    # An old U2F-only key in pam-u2f's first format (KEYHANDLE,HEXPOINT).
    u2f_dir = os.path.join(tmp, "u2f-key")
    os.mkdir(u2f_dir)
    u2f_key = os.path.join(u2f_dir, "u.json")
    tool("new-u2f", u2f_key)
    old = json.loads(tool("add", u2f_key, RP))
    with open(authfile, "w") as f:
        f.write(f"oldie:{old['pam_u2f_old']}\n")
    p = subprocess.run([tpmauthn, "--credentials", creds, "import-u2f", authfile,
                        "--origin", RP], capture_output=True, text=True)
    checks.check("a U2F-format line imports", p.returncode == 0, p.stderr)
    env = pam_wrapper_env(pamd, preload=[preload], TPMAUTHN_TEST_FIDO2_KEYS=u2f_dir)
    p = subprocess.run([runner, "--direct", module,
                        f"credentials={creds} state={state} rp_id={RP} origin={RP} uv=discouraged",
                        "oldie"], env=env, capture_output=True, text=True, timeout=60)
    checks.check("the U2F-only key logs in with a touch (libfido2's CTAP1 path)",
                 p.stdout.startswith("result 0") and "info Touch your security key." in p.stdout,
                 p.stdout + p.stderr[-300:])

    # A new user enrolls a key with `tpmauthn enroll --authenticator fido2`.
    def cli(*args, plugged=keys_dir, stdin=None):
        libs = [os.environ.get("TPMAUTHN_ASAN_RUNTIME"), preload]
        env = dict(os.environ, LD_PRELOAD=" ".join(filter(None, libs)),
                   TPMAUTHN_TEST_FIDO2_KEYS=plugged)
        return subprocess.run([tpmauthn, "--credentials", creds, *args], env=env, input=stdin,
                              capture_output=True, text=True, timeout=60)

    p = cli("enroll", "kim", "--authenticator", "fido2", "--uv", "pin", "--rp-id", RP,
            "--origin", RP, "--pin-fd", "0", "--json", stdin="482915\n")
    checks.check("enroll --authenticator fido2 on the one key plugged in", p.returncode == 0,
                 p.stderr)
    reg = json.loads(p.stdout) if p.returncode == 0 else {}
    checks.check("--json: a cross-platform RegistrationResponseJSON",
                 reg.get("authenticatorAttachment") == "cross-platform" and
                 reg.get("response", {}).get("transports") == ["usb"], reg)
    checks.check("the touch cue went to stderr", "Touch your security key." in p.stderr, p.stderr)
    kim = [l.split() for l in open(creds) if l.startswith("kim ")]
    checks.check("a fido2 line with uv=pin for the new credential",
                 len(kim) == 1 and kim[0][1] == reg.get("id") and kim[0][4] == "fido2" and
                 "uv=pin" in kim[0][5], kim)
    env = pam_wrapper_env(pamd, preload=[preload], TPMAUTHN_TEST_FIDO2_KEYS=keys_dir)
    args = f"credentials={creds} state={state} rp_id={RP} origin={RP} uv=discouraged"
    p = subprocess.run([runner, "--direct", module, args, "kim", "482915"], env=env,
                       capture_output=True, text=True, timeout=60)
    checks.check("the enrolled key logs kim in (its line asks the PIN)",
                 p.stdout.startswith("result 0"), p.stdout + p.stderr)
    p = cli("enroll", "kim", "--authenticator", "fido2", "--rp-id", RP, "--origin", RP,
            "--pin-fd", "0", stdin="482915\n")
    checks.check("the same key twice for kim is refused (exclude list), nothing added",
                 p.returncode == 1 and "already holds" in p.stderr and
                 sum(1 for l in open(creds) if l.startswith("kim ")) == 1, p.stderr)
    p = cli("enroll", "kim", "--authenticator", "fido2", "--pcrs", "7")
    checks.check("--pcrs with a security key is a usage error", p.returncode == 2, p.stderr)
    p = cli("enroll", "lee", "--authenticator", "fido2", "--uv", "none", "--rp-id", RP,
            "--origin", RP, plugged=empty)
    checks.check("enroll with no key plugged in: exit 3", p.returncode == 3 and
                 "no security key" in p.stderr, p.stderr)
    both = os.path.join(tmp, "two-keys")
    os.mkdir(both)
    tool("new", os.path.join(both, "1.json"))
    tool("new", os.path.join(both, "2.json"))
    p = cli("enroll", "lee", "--authenticator", "fido2", "--uv", "none", "--rp-id", RP,
            "--origin", RP, plugged=both)
    checks.check("two keys and no --device: refused, naming both",
                 p.returncode == 1 and "1.json" in p.stderr and "2.json" in p.stderr, p.stderr)
    p = cli("enroll", "lee", "--authenticator", "fido2", "--uv", "none", "--rp-id", RP,
            "--origin", RP, "--device", os.path.join(both, "2.json"), plugged=both)
    checks.check("--device picks one", p.returncode == 0 and
                 len(key_state(os.path.join(both, "2.json"))["credentials"]) == 1 and
                 not key_state(os.path.join(both, "1.json"))["credentials"], p.stderr)

    # SSH: the client's security key answers the server's remote request
    # (`tpmauthn respond --authenticator fido2`, as `tpmauthn ssh` would).
    SRV = "ssh://srv.test"
    client_creds = os.path.join(tmp, "client-credentials")
    p = subprocess.run([tpmauthn, "--credentials", client_creds, "enroll", "rem",
                        "--authenticator", "fido2", "--uv", "pin", "--rp-id", SRV, "--origin", SRV,
                        "--pin-fd", "0", "--json"],
                       env=dict(os.environ, LD_PRELOAD=" ".join(filter(None, [
                           os.environ.get("TPMAUTHN_ASAN_RUNTIME"), preload])),
                           TPMAUTHN_TEST_FIDO2_KEYS=keys_dir),
                       input="482915\n", capture_output=True, text=True, timeout=60)
    checks.check("the client enrolls its key for the server", p.returncode == 0, p.stderr)
    reg_file = os.path.join(tmp, "reg.json")
    open(reg_file, "w").write(p.stdout)
    server_creds = os.path.join(tmp, "server-credentials")
    open(server_creds, "w").write("# server\n")
    os.chmod(server_creds, 0o644)
    p = subprocess.run([tpmauthn, "--credentials", server_creds, "add", "rem", reg_file,
                        "--rp-id", SRV, "--origin", SRV], capture_output=True, text=True)
    checks.check("the server adds the key's registration", p.returncode == 0, p.stderr)
    respond = (f"printf '482915\\n' | {tpmauthn} --credentials {client_creds} "
               f"--store {tmp}/no-tpm-store respond --origin {SRV} --pin-fd 0 "
               "\"$TPMAUTHN_TEST_PROMPT\"")
    env = pam_wrapper_env(pamd, preload=[preload], TPMAUTHN_TEST_FIDO2_KEYS=keys_dir,
                          TPMAUTHN_TEST_ANSWER_CMD=respond)
    args = f"credentials={server_creds} state={state} rp_id={SRV} origin={SRV} mode=remote"
    p = subprocess.run([runner, "--direct", module, args, "rem"], env=env,
                       capture_output=True, text=True, timeout=60)
    checks.check("no TPM credential on the client: the key answers and the server logs in",
                 p.stdout.startswith("result 0"), p.stdout + p.stderr)
    env["TPMAUTHN_TEST_ANSWER_CMD"] = respond.replace("respond ", "respond --authenticator tpm ")
    p = subprocess.run([runner, "--direct", module, args, "rem"], env=env,
                       capture_output=True, text=True, timeout=60)
    checks.check("--authenticator tpm does not use the key",
                 not p.stdout.startswith("result 0"), p.stdout)

    # authenticators=tpm leaves the key out.
    rc, out = login(extra="uv=discouraged authenticators=tpm")
    checks.check("authenticators=tpm does not offer the key",
                 rc == PAM_AUTHINFO_UNAVAIL and "info Touch your security key." not in out, out)

checks.finish()
