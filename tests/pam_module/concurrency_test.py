#!/usr/bin/env python3
"""50 concurrent PAM authentications for 5 users against one swtpm (no
resource manager: three object and three session slots for everyone): one
process per user, each running ten pam_authenticate calls in threads.

Every login must succeed. Three users keep their sign counter in the key file:
the counters the module accepted must be exactly 1..10 — each one strictly
greater than the one stored before it, none lost, none accepted twice — and the
stored counter (relying party) and the key record's counter (authenticator)
must both end at 10. Two use the TPM's shared NV counter: ten distinct values,
and both sides end at the highest. Then 20 concurrent
`tpmauthn assert` runs (no relying-party lock, so they really contend for the
TPM's slots) must all succeed. Afterwards the TPM holds no transient object or
session and no temporary file is left.

usage: concurrency_test.py TPMAUTHN PAMTEST_RUNNER PAM_MODULE
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import (Checks, Swtpm, enroll, login_paths, pam_wrapper_env,  # noqa: E402
                     tpm_leftover_handles)

tpmauthn, runner, module = sys.argv[1:4]
USERS = [f"conc{i}" for i in range(5)]
COUNTER = {user: "file" if i < 3 else "tpm" for i, user in enumerate(USERS)}
LOGINS_PER_USER = 10
RP = "pam://concurrency"
PIN = "482916"
checks = Checks(verbose=True)

with tempfile.TemporaryDirectory() as tmp:
    swtpm = Swtpm(os.path.join(tmp, "tpm"))
    try:
        creds, keys, state = login_paths(tmp, "concurrency test")
        for user in USERS:
            p = enroll(tpmauthn, swtpm.tcti, keys, creds, user, RP, PIN, counter=COUNTER[user])
            checks.check(f"enroll {user}", p.returncode == 0, p.stderr)
        os.mkdir(f"{tmp}/pam.d")
        with open(f"{tmp}/pam.d/concurrency", "w") as f:
            f.write(f"auth required {module} credentials={creds} store={keys} state={state} "
                    f"tcti={swtpm.tcti} rp_id={RP} origin={RP}\n")
        env = pam_wrapper_env(f"{tmp}/pam.d", PAM_WRAPPER_DEBUGLEVEL="3")

        # One process per user, ten threads each: all 50 pam_authenticate calls
        # run at once. (pam_wrapper allows only 36 processes at a time, so 50
        # processes would test pam_wrapper; threads also prove the module safe
        # in a threaded caller.)
        processes = [(user, subprocess.Popen([runner, "--threads", str(LOGINS_PER_USER),
                                              "concurrency", user, PIN], env=env,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True))
                     for user in USERS]
        accepted = defaultdict(list)
        results, failures = [], []
        for user, process in processes:
            out, err = process.communicate(timeout=120)
            mine = [int(m) for m in re.findall(r"^result (-?\d+)$", out, re.M)]
            results += mine
            if mine != [0] * LOGINS_PER_USER:
                failures.append(f"{user}: {mine} {err[-600:]}")
            for match in re.finditer(r"accepted credential .* for (\S+), counter (\d+)", err):
                accepted[match.group(1)].append(int(match.group(2)))
        checks.check(f"all {len(USERS) * LOGINS_PER_USER} concurrent logins succeed",
                     len(results) == 50 and not failures, "\n".join(failures))
        for user in USERS:
            if COUNTER[user] == "file":
                checks.check(f"{user}: accepted counters are exactly 1..{LOGINS_PER_USER}",
                             sorted(accepted[user]) == list(range(1, LOGINS_PER_USER + 1)),
                             sorted(accepted[user]))
            else:
                # (Each accepted one was above the one stored before it: the
                # module refuses anything else, and every login succeeded.)
                checks.check(f"{user} (TPM counter): {LOGINS_PER_USER} distinct counters",
                             len(accepted[user]) == LOGINS_PER_USER
                             and len(set(accepted[user])) == LOGINS_PER_USER, accepted[user])

        def records_by_user():
            """{user: the key record's counter}"""
            return {r["user"]: r["counter"]
                    for r in (json.load(open(f)) for f in glob.glob(f"{keys}/*.key"))}

        records = records_by_user()
        stored = sorted(int(open(f).read().split()[2]) for f in glob.glob(f"{state}/*.counter"))
        checks.check("every key record's counter (authenticator) is 10, or the last accepted "
                     "(TPM counter)",
                     all(records.get(u) == (10 if COUNTER[u] == "file"
                                            else max(accepted[u], default=-1)) for u in USERS),
                     records)
        checks.check("the stored counters (relying party) are the key records'",
                     stored == sorted(records.values()), (stored, records))

        # The CLI has no relying-party lock: 20 concurrent assertions contend
        # for the TPM's slots and must wait their turn (retry on
        # TPM2_RC_OBJECT_MEMORY / _SESSION_MEMORY) instead of failing.
        ids = [os.path.basename(f)[:-len(".key")] for f in glob.glob(f"{keys}/*.key")]
        asserts = [subprocess.Popen(["sh", "-c", f'exec "$@" 3<<EOF\n{PIN}\nEOF', "sh", tpmauthn,
                                     "--tcti", swtpm.tcti, "--store", keys, "assert", "--rp-id", RP,
                                     "--origin", RP, "--credential", ids[i % len(ids)],
                                     "--challenge", "A" * 43, "--pin-fd", "3", "--json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for i in range(20)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in asserts]
        checks.check("20 concurrent `tpmauthn assert` all succeed",
                     all(rc == 0 for rc, _ in results), [r for r in results if r[0] != 0][:3])
        after = records_by_user()
        checks.check("... and each took its own counter (key records at 14; TPM: 4 values on)",
                     all(after[u] == 14 if COUNTER[u] == "file" else after[u] >= records[u] + 4
                         for u in USERS), after)
        checks.check("no transient object or session left in the TPM",
                     tpm_leftover_handles(swtpm.tcti) == 0, tpm_leftover_handles(swtpm.tcti))
        strays = [f for d in (state, keys) for f in os.listdir(d)
                  if not f.endswith((".counter", ".key", ".lock"))]
        checks.check("no temporary file left", not strays, strays)
    finally:
        swtpm.stop()
checks.finish()
