#!/usr/bin/env python3
"""The TPM failing at each single command of an enrollment and of a PAM
login, through a proxy between tpmauthn and swtpm (tests/support/tpm_proxy.py):

- enroll on a fresh TPM (SRK creation included), each command in turn refused
  with TPM_RC_FAILURE, or swtpm killed just before it -> exit 3, no key file,
  no credentials line, no TPM handle left;
- PAM login, each command in turn refused -> PAM_AUTHINFO_UNAVAIL, the stored
  counters unchanged, no handle left, no temporary file;
- PAM login, a slot-allocating command answered TPM_RC_OBJECT_MEMORY /
  _SESSION_MEMORY once (another client holds the slots) -> the module waits
  and succeeds;
- PAM login, swtpm killed just before each command -> PAM_AUTHINFO_UNAVAIL
  (once the signature is made, a kill before the final flush cannot spoil
  the verified login: PAM_SUCCESS with the counter stored), no counter rolled
  back, a later login succeeds.
A lost FlushContext response is injected as "lose" (the TPM did flush), since
a refused flush would leave a handle that no client could remove.

usage: tpm_fault_test.py TPMAUTHN PAMTEST_RUNNER PAM_MODULE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
from harness import (Checks, Swtpm, direct_service_dir, login_paths,  # noqa: E402
                     pam_wrapper_env, tpm_leftover_handles)
from tpm_proxy import (TPM_RC_FAILURE, TPM_RC_OBJECT_MEMORY, TPM_RC_SESSION_MEMORY,  # noqa: E402
                       TpmProxy, command_name)

tpmauthn, runner, module = sys.argv[1:4]
checks = Checks(verbose=True)
PAM_SUCCESS, PAM_AUTHINFO_UNAVAIL = 0, 9
RP, PIN, USER = "pam://tpmfault", "736184", "tpmfault"
FLUSH = 0x165


class Tpm:
    """The swtpm behind the proxy; restart() brings it back on the same state
    (after a kill) or on fresh state."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.dir = os.path.join(tmp, "tpm")
        self.swtpm = Swtpm(self.dir)
        self.proxy = TpmProxy(os.path.join(tmp, "proxy"), self.swtpm.sock, lambda: self.swtpm.process)

    def restart(self, fresh=False):
        self.swtpm.stop()
        if fresh:
            shutil.rmtree(self.dir)
        self.swtpm = Swtpm(self.dir)
        # A TPM that loses power after a PIN-authorized command counts a
        # failed try at the next startup (TPM 2.0 Part 1 §19.8.6); a test that
        # kills it on purpose clears that as an administrator would.
        subprocess.run(["tpm2_dictionarylockout", "-T", self.swtpm.tcti, "-c"], check=True,
                       capture_output=True, timeout=30)

    def leftovers(self):
        return tpm_leftover_handles(self.swtpm.tcti)

    def stop(self):
        self.proxy.close()
        self.swtpm.stop()


with tempfile.TemporaryDirectory() as tmp:
    tpm = Tpm(tmp)
    try:
        creds, keys, state = login_paths(tmp, "tpm fault test")

        def enroll():
            return harness.enroll(tpmauthn, tpm.proxy.tcti, keys, creds, USER, RP, PIN)

        def enrolled():
            keys_there = os.listdir(keys) if os.path.isdir(keys) else []
            lines = [l for l in open(creds) if l.split()[:1] == [USER]]
            return [k for k in keys_there if k.endswith(".key")], lines, \
                [k for k in keys_there if not k.endswith((".key", ".lock"))]

        # Enrollment on a fresh TPM: how many commands it takes.
        tpm.proxy.arm()
        p = enroll()
        enroll_commands = list(tpm.proxy.commands)
        checks.check("baseline enroll", p.returncode == 0, p.stderr)
        # swtpm answers the first Sign after it starts with TPM_RC_RETRY, which
        # ESAPI resubmits: "Sign Sign" on a fresh TPM.
        print("enroll commands:", " ".join(command_name(c) for c in enroll_commands))
        for n, code in enumerate(enroll_commands, start=1):
            for action in ("refuse", "kill"):
                if action == "refuse" and code == FLUSH:
                    action = "lose"
                shutil.rmtree(keys, ignore_errors=True)
                open(creds, "w").write("# tpm fault test\n")
                tpm.restart(fresh=True)
                tpm.proxy.arm(n, action, TPM_RC_FAILURE)
                p = enroll()
                if action == "kill":
                    tpm.restart()
                name = f"enroll, {command_name(code)} (#{n}) {action}"
                key_files, lines, strays = enrolled()
                if p.returncode == 0:
                    # Only a lost final flush may leave a complete enrollment.
                    checks.check(f"{name}: succeeds only after its key is made",
                                 code == FLUSH and len(key_files) == 1 and len(lines) == 1,
                                 (p.returncode, key_files, lines))
                else:
                    checks.check(f"{name} -> exit 3 (TPM unavailable)", p.returncode == 3,
                                 (p.returncode, p.stderr))
                    checks.check(f"{name}: no key file and no credentials line",
                                 not key_files and not lines, (key_files, lines))
                checks.check(f"{name}: no temporary file", not strays, strays)
                checks.check(f"{name}: no TPM handle left", tpm.leftovers() == 0, tpm.leftovers())

        # The credential the login tests use.
        shutil.rmtree(keys, ignore_errors=True)
        open(creds, "w").write("# tpm fault test\n")
        tpm.restart(fresh=True)
        p = enroll()
        checks.check("enroll for the login tests", p.returncode == 0, p.stderr)
        (key_file,) = enrolled()[0]

        args = (f"credentials={creds} store={keys} state={state} tcti={tpm.proxy.tcti} "
                f"rp_id={RP} origin={RP}")
        env = pam_wrapper_env(direct_service_dir(tmp), PAM_WRAPPER_DEBUGLEVEL="3")

        def login():
            p = subprocess.run([runner, "--direct", module, args, USER, PIN], env=env,
                               capture_output=True, text=True, timeout=120)
            first = p.stdout.split("\n", 1)[0]
            rc = int(first.split()[1]) if first.startswith("result ") else None
            refusal = [l.split("SYSLOG", 1)[-1] for l in p.stderr.splitlines() if "refused" in l]
            return rc, refusal

        def counters():
            """(relying party's stored counter, key record's counter)."""
            stored = [open(os.path.join(state, f)).read().split()[2]
                      for f in os.listdir(state) if f.endswith(".counter")] if os.path.isdir(state) else []
            record = json.load(open(os.path.join(keys, key_file)))["counter"]
            return (int(stored[0]) if stored else 0), record

        def advanced(before, after):
            """The relying party stored the key record's new counter, above the
            old one. (The TPM's NV counter may have moved more than once: a try
            refused after its increment takes a value and releases no signature.)"""
            return after[0] == after[1] and after[0] > before[0] and after[1] > before[1]

        def strays():
            return [f for d in (state, keys) for f in os.listdir(d)
                    if not f.endswith((".counter", ".key", ".lock"))]

        tpm.proxy.arm()
        rc, refusal = login()
        login_commands = list(tpm.proxy.commands)
        checks.check("baseline login", rc == PAM_SUCCESS, refusal)
        print("login commands:", " ".join(command_name(c) for c in login_commands))

        for n, code in enumerate(login_commands, start=1):
            name = f"login, {command_name(code)} (#{n})"
            before = counters()
            if code == FLUSH:
                tpm.proxy.arm(n, "lose", TPM_RC_FAILURE)
                rc, refusal = login()
                checks.check(f"{name} response lost after the signature -> success, counter stored",
                             rc == PAM_SUCCESS and advanced(before, counters()),
                             (rc, refusal, before, counters()))
            else:
                tpm.proxy.arm(n, "refuse", TPM_RC_FAILURE)
                rc, refusal = login()
                checks.check(f"{name} refused -> PAM_AUTHINFO_UNAVAIL", rc == PAM_AUTHINFO_UNAVAIL,
                             (rc, refusal))
                checks.check(f"{name} refused: the log says why",
                             any("failure" in r for r in refusal), refusal)
                checks.check(f"{name} refused: counters unchanged", counters() == before,
                             (before, counters()))
            checks.check(f"{name}: no TPM handle left", tpm.leftovers() == 0, tpm.leftovers())
            checks.check(f"{name}: no temporary file", not strays(), strays())

        busy = {0x176: TPM_RC_SESSION_MEMORY, 0x157: TPM_RC_OBJECT_MEMORY}
        for n, code in enumerate(login_commands, start=1):
            if code not in busy:
                continue
            name = f"login, {command_name(code)} (#{n}) answered {hex(busy[code])} once"
            before = counters()
            tpm.proxy.arm(n, "refuse", busy[code])
            rc, refusal = login()
            checks.check(f"{name} -> waits and succeeds", rc == PAM_SUCCESS, (rc, refusal))
            checks.check(f"{name}: counter advanced, stored by both sides",
                         advanced(before, counters()), (before, counters()))
            checks.check(f"{name}: no TPM handle left", tpm.leftovers() == 0, tpm.leftovers())

        for n, code in enumerate(login_commands, start=1):
            name = f"login, swtpm killed before {command_name(code)} (#{n})"
            before = counters()
            tpm.proxy.arm(n, "kill")
            rc, refusal = login()
            tpm.restart()
            stored, record = counters()
            if code == FLUSH:
                checks.check(f"{name} -> the signed login stands, counter stored",
                             rc == PAM_SUCCESS and advanced(before, (stored, record)),
                             (rc, refusal, before, (stored, record)))
            else:
                checks.check(f"{name} -> PAM_AUTHINFO_UNAVAIL", rc == PAM_AUTHINFO_UNAVAIL,
                             (rc, refusal))
                checks.check(f"{name}: the log says the TPM went away",
                             any("IO failure" in r or "connection" in r.lower() for r in refusal),
                             refusal)
            checks.check(f"{name}: no counter rolled back",
                         stored >= before[0] and record >= before[1] and record >= stored,
                         (before, (stored, record)))
            checks.check(f"{name}: no temporary file", not strays(), strays())
            checks.check(f"{name}: no TPM handle left after restart", tpm.leftovers() == 0)
            # (Also takes the restarted TPM's first-Sign TPM_RC_RETRY, so that
            # the next kill lands on the same command as in the baseline.)
            tpm.proxy.arm()
            rc, refusal = login()
            checks.check(f"{name}: after the restart a login succeeds", rc == PAM_SUCCESS, refusal)

        tpm.proxy.arm()
        rc, refusal = login()
        checks.check("after every fault, a clean login succeeds", rc == PAM_SUCCESS, refusal)
    finally:
        tpm.stop()
checks.finish()
