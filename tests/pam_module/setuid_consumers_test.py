#!/usr/bin/env python3
"""pam_tpmauthn.so under real setuid programs: sudo, su and console login.

Everything runs in a private mount namespace (unshare -m) where a temporary
pam.d, sudoers, passwd and group are bind-mounted over /etc, and tmpfs hides
/run and /var/log (sudo timestamps, utmp, wtmp, btmp, lastlog), so the host's
files are never touched. A test user (uid 4242) exists only in that namespace.
swtpm runs on a unix socket in a temporary directory and is stopped by PID.

usage: setuid_consumers_test.py TPMAUTHN PAM_MODULE     (as root; exit 77 = skipped)
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import (Checks, Swtpm, namespace_argv, require_root_and_tools, run_pty,  # noqa: E402
                     wait_for_socket, write_private_etc, write_stack, write_sudoers)
checks = Checks(verbose=True)
check = checks.check


tpmauthn, module = sys.argv[1], sys.argv[2]
require_root_and_tools("mount namespaces, setuid programs",
                       ("sudo", "su", "login", "unshare", "setpriv", "swtpm"))

USER, UID = "tpmtest", 4242
OTHER, OTHER_UID = "tpmother", 4243
PIN = "258013"
RP = "pam://setuid-test"



def in_namespace(tmp, command):
    binds = [(f"{tmp}/{name}", f"/etc/{name}") for name in ("pam.d", "sudoers", "passwd", "group")]
    return namespace_argv(binds, command, cwd=tmp)


def run_in_namespace(tmp, command, stdin_text):
    p = subprocess.run(in_namespace(tmp, command), input=stdin_text, capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def run_in_pty(tmp, command, answers, timeout=30):
    return run_pty(in_namespace(tmp, command), answers, timeout=timeout)


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    tpm_dir = os.path.join(tmp, "tpm")
    os.mkdir(tpm_dir)
    sock = os.path.join(tpm_dir, "sock")
    swtpm = Swtpm(tpm_dir)
    try:
        creds, keys, state = (os.path.join(tmp, n) for n in ("credentials", "keys", "state"))
        open(creds, "w").write("# setuid test credentials\n")
        os.chmod(creds, 0o644)
        base = [tpmauthn, "--tcti", f"swtpm:path={sock}", "--store", keys, "--credentials", creds]
        p = subprocess.run(["sh", "-c", 'exec "$@" 3<&0', "sh"] + base +
                           ["enroll", USER, "--label", "setuid test key", "--rp-id", RP,
                            "--origin", RP, "--pin-fd", "3"],
                           input=PIN + "\n", capture_output=True, text=True)
        check("enroll the test user", p.returncode == 0, p.stderr)

        args = (f"credentials={creds} store={keys} state={state} tcti=swtpm:path={sock} "
                f"rp_id={RP} origin={RP}")
        os.mkdir(os.path.join(tmp, "pam.d"))
        # sudo reads answers from stdin: two tries, so a wrong PIN shows the tries left and
        # the second prompt meets end of input. su and login: one try (PAM_MAXTRIES).
        # At most 3 wrong PINs are used in all, swtpm's lockout threshold.
        for service, tries in (("sudo", 2), ("su", 1), ("login", 1), ("other", 1)):
            write_stack(os.path.join(tmp, "pam.d"), service,
                        f"auth required {module} {args} max_tries={tries}")
        write_sudoers(tmp, USER)
        write_private_etc(tmp, [(USER, UID, tmp), (OTHER, OTHER_UID, tmp)])

        as_user = f"setpriv --reuid={UID} --regid={UID} --clear-groups"
        # sudo: the real setuid binary, run by the unprivileged test user.
        rc, out, err = run_in_namespace(tmp, f"{as_user} sudo -S -u root id -u", PIN + "\n")
        check("sudo with the right PIN runs the command as root", rc == 0 and out.strip() == "0",
              f"rc={rc} out={out!r} err={err!r}")
        check("sudo showed the PIN prompt with the credential's label",
              "PIN for setuid test key" in err, err)
        rc, out, err = run_in_namespace(tmp, f"{as_user} sudo -S -u root id -u", "0000\n")
        check("sudo with a wrong PIN is refused", rc != 0 and out.strip() != "0",
              f"rc={rc} out={out!r} err={err!r}")
        check("sudo relays the tries left", "tries left" in err, err)
        rc, out, err = run_in_namespace(tmp, f"{as_user} sudo -S -u root id -u", "\n")
        check("sudo with an empty PIN is refused", rc != 0 and out.strip() != "0",
              f"rc={rc} out={out!r}")

        # su: another unprivileged user asks to become the test user. By default the
        # test user's PIN is not offered to them (a blocked PIN stays blocked until
        # reset, so only its owner may spend its tries): the module returns
        # PAM_AUTHINFO_UNAVAIL and the stack's password line asks instead.
        def tries_left():
            p = subprocess.run(base + ["status", "--json"], capture_output=True, text=True)
            return [c.get("triesLeft") for c in json.loads(p.stdout).get("credentials", [])]

        write_stack(os.path.join(tmp, "pam.d"), "su",
                    f"auth [success=done default=ignore] {module} {args} max_tries=1\n"
                    "auth required pam_unix.so")
        as_other = f"setpriv --reuid={OTHER_UID} --regid={OTHER_UID} --clear-groups"
        before = tries_left()
        screen = run_in_pty(tmp, f"{as_other} su {USER} -c 'echo SU-UID=$(id -u)'",
                            [("Password", "not-the-pin"), ("PIN for", "999999")])
        check("su by another user: the PIN is not offered, the password is asked",
              "PIN for" not in screen and "Password" in screen and f"SU-UID={UID}" not in screen,
              screen)
        check("... and the test user's PIN tries are untouched", tries_left() == before,
              (before, tries_left()))
        # With pin_for_others the module offers the PIN to them as well.
        write_stack(os.path.join(tmp, "pam.d"), "su",
                    f"auth required {module} {args} max_tries=1 pin_for_others")
        screen = run_in_pty(tmp, f"{as_other} su {USER} -c 'echo SU-UID=$(id -u)'",
                            [("PIN for", PIN)])
        check("su with pin_for_others and the right PIN gives a shell as the user",
              f"SU-UID={UID}" in screen, screen)
        screen = run_in_pty(tmp, f"{as_other} su {USER} -c 'echo SU-UID=$(id -u)'",
                            [("PIN for", "999999")])
        check("su with a wrong PIN is refused", f"SU-UID={UID}" not in screen
              and ("exhausted maximum number of retries" in screen or "failure" in screen.lower()),
              screen)

        # login: the console login program on a pseudo-terminal.
        screen = run_in_pty(tmp, f"login {USER}",
                            [("PIN for", PIN), ("$", "echo LOGIN-UID=$(id -u); exit")])
        check("login with the right PIN gives a shell", f"LOGIN-UID={UID}" in screen, screen)
        screen = run_in_pty(tmp, f"login {USER}", [("PIN for", "8888")], timeout=15)
        check("login with a wrong PIN is refused", f"LOGIN-UID={UID}" not in screen
              and ("incorrect" in screen.lower() or "maximum number of tries" in screen.lower()),
              screen)
    finally:
        swtpm.stop()

checks.finish()
