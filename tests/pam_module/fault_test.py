#!/usr/bin/env python3
"""Fault injection on the PAM path (module called directly on a real pam
handle, so its own return code is seen):

- the TPM disappears while the module waits for the PIN (swtpm killed between
  the module's TPM commands) -> PAM_AUTHINFO_UNAVAIL, never success/ignore;
- the counter state cannot be written (ENOSPC: a 4 KiB tmpfs, in a private
  mount namespace) -> PAM_AUTHINFO_UNAVAIL, the old counter intact, no
  temporary file left behind;
- the disk fails (EIO from write, fsync, link, rename or the directory's
  fsync; an LD_PRELOAD shim) while the relying party stores its counter or
  the authenticator its key record -> PAM_AUTHINFO_UNAVAIL, no counter rolled
  back; and while `tpmauthn enroll` writes the key or the credentials line ->
  a non-zero exit and no key without its line (nor the reverse);
- a PIN entered after timeout= seconds -> PAM_AUTH_ERR, no counter stored;
- the conversation fails (no answer) -> PAM_AUTH_ERR.
After each, no partial file is left in the state directory or key store.

usage: fault_test.py TPMAUTHN PAMTEST_RUNNER PAM_MODULE EIO_SHIM   (as root; exit 77 = skipped)
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import (Checks, Swtpm, direct_service_dir, enroll, login_paths,  # noqa: E402
                     pam_wrapper_env)

tpmauthn, runner, module, eio_shim = sys.argv[1:5]
if os.geteuid() != 0:
    print("skipped: needs root (mount namespace for the ENOSPC case)")
    sys.exit(77)
checks = Checks(verbose=True)
PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_IGNORE = 0, 7, 9, 25


def no_partial_files(*dirs):
    return not [f for d in dirs for f in glob.glob(os.path.join(d, ".*.tmp-*"))]


with tempfile.TemporaryDirectory() as tmp:
    swtpm = Swtpm(os.path.join(tmp, "tpm"))
    try:
        creds, keys, state = login_paths(tmp, "fault test")
        p = enroll(tpmauthn, swtpm.tcti, keys, creds, "ft", "pam://ft", "258013")
        checks.check("enroll", p.returncode == 0, p.stderr)
        pamd = direct_service_dir(tmp)
        args = (f"credentials={creds} store={keys} state={state} tcti={swtpm.tcti} "
                f"rp_id=pam://ft origin=pam://ft")
        base_env = pam_wrapper_env(pamd)

        def call(pins, env=None, prefix=(), extra_args=""):
            p = subprocess.run([*prefix, runner, "--direct", module, args + extra_args, "ft", *pins],
                               env=env or base_env, capture_output=True, text=True, timeout=120)
            for line in p.stderr.splitlines():
                if "refused ft" in line:
                    print("   module log:", line.split("SYSLOG", 1)[-1][:200])
            for line in p.stdout.splitlines():
                if line.startswith("result "):
                    return int(line.split()[1]), p
            return None, p

        rc, p = call(["258013"])
        checks.check("baseline: right PIN succeeds", rc == PAM_SUCCESS, p.stdout + p.stderr)
        counter_files = glob.glob(f"{state}/*.counter")
        checks.check("baseline: the counter is stored", len(counter_files) == 1, counter_files)
        if len(counter_files) != 1:
            checks.finish()
        before = open(counter_files[0]).read()

        # ENOSPC on the counter write: the state directory is a full 4 KiB tmpfs.
        script = (f"mount -t tmpfs -o size=4k,mode=700 tmpfs {state} && "
                  f"printf '%s' '{before}' > {state}/{os.path.basename(counter_files[0])} && "
                  f"chmod 600 {state}/*.counter && "
                  f"(dd if=/dev/zero of={state}/filler bs=1k count=64 2>/dev/null || true) && "
                  f"exec \"$@\"")
        env = dict(base_env, PAM_WRAPPER_DEBUGLEVEL="3")
        rc, p = call(["258013"], env=env, prefix=("unshare", "-m", "sh", "-c", script, "sh"))
        checks.check("ENOSPC on the counter write -> PAM_AUTHINFO_UNAVAIL", rc == PAM_AUTHINFO_UNAVAIL,
                     p.stdout + p.stderr)
        checks.check("... and the log names the failed write",
                     "No space left on device" in p.stderr, p.stderr[-1500:])
        checks.check("the stored counter is unchanged after ENOSPC", open(counter_files[0]).read() == before)

        # EIO at each step of a state write, in the relying party's state
        # directory and in the authenticator's key store.
        def counters():
            (key_file,) = glob.glob(f"{keys}/*.key")
            return int(open(counter_files[0]).read().split()[2]), json.load(open(key_file))["counter"]

        for directory, what in ((state, "counter state"), (keys, "key store")):
            for failing in ("write", "fsync", "link", "rename", "fsync-dir"):
                name = f"EIO from {failing} in the {what}"
                before = counters()
                env = pam_wrapper_env(pamd, preload=[eio_shim], TPMAUTHN_EIO_DIR=directory,
                                      TPMAUTHN_EIO_CALL=failing, PAM_WRAPPER_DEBUGLEVEL="3")
                rc, p = call(["258013"], env=env)
                checks.check(f"{name} -> PAM_AUTHINFO_UNAVAIL", rc == PAM_AUTHINFO_UNAVAIL,
                             p.stdout + p.stderr[-1500:])
                checks.check(f"{name}: the log names the I/O error",
                             "Input/output error" in p.stderr, p.stderr[-1500:])
                after = counters()
                checks.check(f"{name}: no counter rolled back, the stored one never ahead of "
                             "the authenticator's",
                             after[0] >= before[0] and after[1] >= before[1] and after[1] >= after[0],
                             (before, after))
                checks.check(f"{name}: no partial file", no_partial_files(state, keys))
        rc, p = call(["258013"])
        checks.check("after the EIO cases a login succeeds", rc == PAM_SUCCESS, p.stdout + p.stderr)

        # EIO while enroll writes its key file or the credentials line.
        # (New key files are linked, never renamed: no "rename" in keys/.)
        for failing in ("write", "fsync", "link", "rename", "fsync-dir"):
            for directory in ((keys, tmp) if failing != "rename" else (tmp,)):
                name = f"enroll with EIO from {failing} in {os.path.basename(directory)}/"
                key_files = set(glob.glob(f"{keys}/*.key"))
                lines = open(creds).read()
                env = dict(os.environ, TPMAUTHN_EIO_DIR=directory, TPMAUTHN_EIO_CALL=failing,
                           LD_PRELOAD=" ".join(filter(None, [os.environ.get("TPMAUTHN_ASAN_RUNTIME"),
                                                             eio_shim])))
                p = subprocess.run([tpmauthn, "--tcti", swtpm.tcti, "--store", keys, "--credentials",
                                    creds, "enroll", "ft2", "--rp-id", "pam://ft", "--origin",
                                    "pam://ft", "--pin-fd", "0"], input="258013\n", capture_output=True,
                                   text=True, env=env)
                new_keys = set(glob.glob(f"{keys}/*.key")) - key_files
                new_line = open(creds).read() != lines
                checks.check(f"{name} -> fails, naming the I/O error",
                             p.returncode != 0 and "Input/output error" in p.stderr,
                             (p.returncode, p.stderr))
                checks.check(f"{name}: no key without its credentials line, nor the reverse",
                             bool(new_keys) == new_line, (new_keys, new_line))
                if new_line:
                    checks.check(f"{name}: says the credential is in place but not durable",
                                 "may not survive a crash" in p.stderr, p.stderr)
                checks.check(f"{name}: no partial file", no_partial_files(keys, tmp))
                for k in new_keys:
                    os.unlink(k)
                open(creds, "w").write(lines)

        # A PIN typed after timeout= seconds: the challenge has expired.
        before = open(counter_files[0]).read()
        rc, p = call(["258013"], env=dict(base_env, TPMAUTHN_TEST_ON_PROMPT="sleep 2.2",
                                        PAM_WRAPPER_DEBUGLEVEL="3"),
                     extra_args=" timeout=2")
        checks.check("a PIN entered after timeout=2 -> PAM_AUTH_ERR", rc == PAM_AUTH_ERR,
                     p.stdout + p.stderr[-1500:])
        checks.check("... and the log says the challenge expired", "timeout" in p.stderr,
                     p.stderr[-1500:])
        checks.check("... and no counter was stored for it", open(counter_files[0]).read() == before)
        rc, p = call(["258013"], env=dict(base_env, TPMAUTHN_TEST_ON_PROMPT="sleep 0.2"),
                     extra_args=" timeout=2")
        checks.check("control: a PIN entered within timeout=2 logs in", rc == PAM_SUCCESS,
                     p.stdout + p.stderr[-1500:])

        # No answer from the conversation.
        rc, p = call([])
        checks.check("conversation gives no PIN -> PAM_AUTH_ERR", rc == PAM_AUTH_ERR, p.stdout + p.stderr)

        before = open(counter_files[0]).read()
        # The TPM disappears while the module waits for the PIN.
        env = dict(base_env, TPMAUTHN_TEST_ON_PROMPT=f"kill -9 {swtpm.process.pid}",
                   PAM_WRAPPER_DEBUGLEVEL="3")
        rc, p = call(["258013"], env=env)
        checks.check("TPM killed mid-login -> PAM_AUTHINFO_UNAVAIL (not success or ignore)",
                     rc == PAM_AUTHINFO_UNAVAIL, p.stdout + p.stderr)
        checks.check("... and the log says the TPM went away",
                     "refused ft" in p.stderr and ("TCTI" in p.stderr or "tcti" in p.stderr
                                                   or "connection" in p.stderr.lower()
                                                   or "IO" in p.stderr), p.stderr[-1500:])
        checks.check("no partial file left in state or key store", no_partial_files(state, keys))
        checks.check("counter unchanged after the failed login", open(counter_files[0]).read() == before)
    finally:
        swtpm.stop()
checks.finish()
