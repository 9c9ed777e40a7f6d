#!/usr/bin/env python3
"""Allocation failure inside pam_sm_authenticate: the N-th allocation fails
(C++ operator new throws std::bad_alloc; OpenSSL's allocator returns NULL),
for every N up to 400 and then every 97th up to the last allocation of a
login (pamtest_runner, $TPMAUTHN_TEST_FAIL_ALLOC).

With the right PIN:
- the process never crashes; the result is PAM_SUCCESS, PAM_AUTH_ERR or
  PAM_AUTHINFO_UNAVAIL — never PAM_IGNORE or anything else;
- a failed C++ allocation is never PAM_SUCCESS (the exception reaches the
  module's boundary); a failed OpenSSL allocation may be absorbed inside
  OpenSSL (its name and method caches) and the login still verified;
- PAM_SUCCESS only with the counter stored (relying party == key record);
  otherwise the stored counter did not move;
- no TPM handle and no temporary file left.
Two outcomes are library limitations, allowed only where the backtrace of the
failed allocation shows them, and counted (docs/security.md):
- nlohmann::json's destructor allocates (json_value::destroy; nlohmann/json
  #5135): a failure there terminates the process — a crashed login, never a
  successful one;
- a failure inside ESAPI's processing of a StartAuthSession/Load response, after
  the TPM made the session or object, loses its handle (ESAPI never returns
  it): a TPM with a resource manager (/dev/tpmrm0) reclaims it when the
  process ends; the test flushes it.
With a wrong PIN (the TPM's lockout threshold raised for the test): never
PAM_SUCCESS, whatever allocation fails.

usage: alloc_fault_test.py TPMAUTHN PAMTEST_RUNNER PAM_MODULE
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import (Checks, Swtpm, direct_service_dir, enroll, login_paths,  # noqa: E402
                     pam_wrapper_env, tpm_leftover_handles)

tpmauthn, runner, module = sys.argv[1:4]
HANDLE_MAKING_FINISH = ("Esys_StartAuthSession_Finish", "Esys_Load_Finish", "Esys_CreatePrimary_Finish")


def failed_allocation_trace(stderr):
    """The runner's backtrace of the failed allocation, symbolized with
    addr2line where backtrace_symbols could not name a frame."""
    names = []
    for line in stderr.splitlines():
        # glibc 2.36 writes "lib(sym+0x1)[0x7f...]", 2.41 "lib(sym+0x1) [0x7f...]".
        m = re.match(r"(/\S+|\S+)\(([^)]*)\) ?\[0x[0-9a-f]+\]$", line)
        if not m:
            continue
        path, where = m.groups()
        if where.startswith("+0x") and os.path.exists(path):
            out = subprocess.run(["addr2line", "-f", "-C", "-i", "-e", path,
                                  hex(int(where[1:], 16) - 1)], capture_output=True, text=True).stdout
            names.extend(out.splitlines()[0::2])
        else:
            names.append(where)
    return "\n".join(names)
PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL = 0, 7, 9
RP, PIN, USER = "pam://allocfault", "915372", "allocfault"
checks = Checks()

with tempfile.TemporaryDirectory() as tmp:
    swtpm = Swtpm(os.path.join(tmp, "tpm"))
    try:
        # Wrong PINs must not lock the TPM during the test: 100,000 tries.
        subprocess.run(["tpm2_dictionarylockout", "-T", swtpm.tcti, "-s", "-n", "100000", "-t", "1",
                        "-l", "1"], check=True, capture_output=True, timeout=30)
        creds, keys, state = login_paths(tmp, "allocation failure test")
        # The key file's counter: its exact bookkeeping (+1 per login) is
        # what the counter checks below follow. The TPM's NV counter may move
        # more than once per login (a try refused after its increment); its
        # failure paths are tpm_fault_test's.
        p = enroll(tpmauthn, swtpm.tcti, keys, creds, USER, RP, PIN, counter="file")
        checks.check("enroll", p.returncode == 0, p.stderr)
        args = f"credentials={creds} store={keys} state={state} tcti={swtpm.tcti} rp_id={RP} origin={RP}"
        # Sanitizer build: AddressSanitizer checks every error path for memory
        # errors, but LeakSanitizer is off here — OpenSSL 3.0 and tpm2-tss leak
        # on their own allocation-failure paths (e.g. the name map that
        # EVP_MD_fetch fills), and telling those apart needs full unwinding
        # through libraries without frame pointers (15+ minutes). tpmauthn's
        # own leaks are checked by LeakSanitizer in every other suite and by
        # valgrind on the PAM path.
        env = pam_wrapper_env(direct_service_dir(tmp), ASAN_OPTIONS=":".join(filter(None, [
            os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"])))

        def login(n, pin):
            p = subprocess.run([runner, "--direct", module, args, USER, pin],
                               env=dict(env, TPMAUTHN_TEST_FAIL_ALLOC=str(n)),
                               capture_output=True, text=True, timeout=120)
            fields = dict(line.split(" ", 1) for line in p.stdout.splitlines() if " " in line)
            rc = int(fields["result"]) if "result" in fields else None
            info = fields.get("allocations", "").split()  # COUNT injected 0|1 in WHERE
            return p, rc, (int(info[0]) if info else 0), (info[2] == "1" if info else False), \
                (info[4] if len(info) > 4 else "?")

        def flush_all():
            # So that one leak does not make every later login wait for slots.
            for kind in ("-t", "-l", "-s"):
                subprocess.run(["tpm2_flushcontext", "-T", swtpm.tcti, kind], capture_output=True)

        def counters():
            stored = [open(f).read().split()[2] for f in glob.glob(f"{state}/*.counter")]
            (key_file,) = glob.glob(f"{keys}/*.key")
            return (int(stored[0]) if stored else 0), json.load(open(key_file))["counter"]

        limitations = Counter()
        p, rc, total, _, _ = login(0, PIN)
        checks.check("a login with counting only succeeds", rc == PAM_SUCCESS, p.stdout + p.stderr[-800:])
        print(f"one login allocates {total} times (C++ new and OpenSSL)")
        points = list(range(1, min(total, 400) + 1)) + list(range(401, total + 1, 97))
        seen = Counter()
        for n in points:
            before = counters()
            p, rc, _, injected, where = login(n, PIN)
            seen[(rc, where)] += 1
            name = f"allocation #{n} fails ({where})"
            if p.returncode != 0 or rc is None:
                trace = failed_allocation_trace(p.stderr)
                in_json_destructor = ("terminate called" in p.stderr and "std::bad_alloc" in p.stderr
                                      and "json_value::destroy" in trace)
                checks.check(f"{name}: no crash (other than nlohmann::json's destructor)",
                             in_json_destructor, (p.returncode, trace[-1500:], p.stderr[-800:]))
                if in_json_destructor:
                    limitations["terminated in nlohmann::json's destructor"] += 1
                after = counters()
                checks.check(f"{name}: the crashed login stored no counter past the warm-up",
                             after[0] == before[0] + 1 or after[0] == before[1] + 1, (before, after))
                continue
            checks.check(f"{name}: result is success, auth error or unavailable",
                         rc in (PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL), rc)
            if injected and where == "new":
                checks.check(f"{name}: a failed C++ allocation is never success", rc != PAM_SUCCESS,
                             p.stderr[-1500:])
            # (The warm-up login signs and stores one counter first.)
            after = counters()
            if rc == PAM_SUCCESS:
                checks.check(f"{name}: success only with the counter stored",
                             after[1] == before[1] + 2 and after[0] == after[1], (before, after))
            else:
                checks.check(f"{name}: no counter rolled back, none stored ahead of the TPM's",
                             after[0] >= before[0] + 1 and after[1] >= after[0], (before, after))
            leftovers = tpm_leftover_handles(swtpm.tcti)
            if leftovers:
                trace = failed_allocation_trace(p.stderr)
                inside_esapi = any(f in trace for f in HANDLE_MAKING_FINISH)
                checks.check(f"{name}: no TPM handle left (other than one ESAPI never returned)",
                             inside_esapi, trace[-1500:])
                if inside_esapi:
                    limitations["handle lost inside ESAPI (StartAuthSession/Load response)"] += 1
                flush_all()
            strays = [f for d in (state, keys) for f in os.listdir(d)
                      if not f.endswith((".counter", ".key", ".lock"))]
            checks.check(f"{name}: no temporary file", not strays, strays)
        print("right PIN, (result, failed allocator) -> count:", dict(seen))
        print("library limitations met (right PIN):", dict(limitations))

        p, rc, wrong_total, _, _ = login(0, "000000")
        checks.check("a wrong PIN with counting only is refused", rc == PAM_AUTH_ERR, rc)
        wrong_points = list(range(1, min(wrong_total, 400) + 1)) + list(range(401, wrong_total + 1, 97))
        wrong = Counter()
        for n in wrong_points:
            p, rc, _, _, where = login(n, "000000")
            wrong[(rc, where)] += 1
            checks.check(f"wrong PIN, allocation #{n} fails ({where}): never success",
                         rc != PAM_SUCCESS and rc != 25, (p.returncode, rc, p.stderr[-800:]))
            if p.returncode != 0 or rc is None:
                in_json_destructor = "json_value::destroy" in failed_allocation_trace(p.stderr)
                checks.check(f"wrong PIN, allocation #{n}: no crash (other than nlohmann::json's "
                             "destructor)", in_json_destructor, p.stderr[-800:])
                if in_json_destructor:
                    limitations["terminated in nlohmann::json's destructor"] += 1
            else:
                checks.check(f"wrong PIN, allocation #{n}: auth error or unavailable",
                             rc in (PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL), rc)
            if tpm_leftover_handles(swtpm.tcti):
                inside_esapi = any(f in failed_allocation_trace(p.stderr) for f in HANDLE_MAKING_FINISH)
                checks.check(f"wrong PIN, allocation #{n}: no TPM handle left (other than one "
                             "ESAPI never returned)", inside_esapi)
                if inside_esapi:
                    limitations["handle lost inside ESAPI (StartAuthSession/Load response)"] += 1
                flush_all()
        print("wrong PIN, (result, failed allocator) -> count:", dict(wrong))
        print("library limitations met in all:", dict(limitations))
        print(f"{len(points)} right-PIN and {len(wrong_points)} wrong-PIN logins with a failed allocation")
    finally:
        swtpm.stop()
checks.finish()
