#!/usr/bin/env python3
"""The PAM path under valgrind (memcheck): pamtest_runner -> libpam (pam_wrapper)
-> pam_tpmauthn.so -> swtpm, for the right PIN and for a wrong one. Any memory
error or definite leak fails the test.

usage: valgrind_pam_test.py TPMAUTHN PAMTEST_RUNNER PAM_MODULE
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, Swtpm  # noqa: E402

tpmauthn, runner, module = sys.argv[1:4]
checks = Checks(verbose=True)
if not shutil.which("valgrind"):
    print("FAIL: valgrind is not installed (scripts/install-deps.sh installs it)")
    sys.exit(1)

with tempfile.TemporaryDirectory() as tmp:
    with Swtpm(os.path.join(tmp, "tpm")) as tpm:
        creds = os.path.join(tmp, "credentials")
        open(creds, "w").write("# valgrind test\n")
        os.chmod(creds, 0o644)
        p = subprocess.run([tpmauthn, "--tcti", tpm.tcti, "--store", f"{tmp}/keys", "--credentials",
                            creds, "enroll", "vg", "--rp-id", "pam://vg", "--origin", "pam://vg",
                            "--pin-fd", "0"], input="258013\n", capture_output=True, text=True)
        checks.check("enroll", p.returncode == 0, p.stderr)
        os.mkdir(f"{tmp}/pam.d")
        with open(f"{tmp}/pam.d/vg", "w") as f:
            f.write(f"auth required {module} credentials={creds} store={tmp}/keys "
                    f"state={tmp}/state tcti={tpm.tcti} rp_id=pam://vg origin=pam://vg\n")
        with open(f"{tmp}/pam.d/other", "w") as f:
            f.write("auth required pam_deny.so\n")
        env = dict(os.environ, LD_PRELOAD="libpam_wrapper.so", PAM_WRAPPER="1",
                   PAM_WRAPPER_SERVICE_DIR=f"{tmp}/pam.d", PAM_WRAPPER_DISABLE_DEEPBIND="1")
        for name, pins, expected in (("right PIN", ["258013"], 0), ("wrong PIN", ["0000"], 7)):
            p = subprocess.run(["valgrind", "--quiet", "--error-exitcode=9", "--leak-check=full",
                                "--errors-for-leak-kinds=definite", runner, "vg", "vg", *pins],
                               env=env, capture_output=True, text=True, timeout=600)
            checks.check(f"{name}: valgrind reports no errors and no definite leaks",
                         p.returncode == 0, p.stderr)
            checks.check(f"{name}: PAM result {expected}", f"result {expected}" in p.stdout,
                         p.stdout)
checks.finish()
