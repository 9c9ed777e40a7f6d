#!/usr/bin/env python3
"""The caller's environment inside the real setuid `su` and `sudo`.

An unprivileged user who types `su` or `sudo` chooses the environment the PAM
module runs in, as root. With the module in the stack (no tcti= anywhere, as
documented by default, or with one), the user's environment names:
- a TCTI library ($TPMAUTHN_TCTI pointing at a probe library),
- tpm2-tss log and pcap files in a root-only directory ($TSS2_LOG,
  $TSS2_LOGFILE, $TCTI_PCAP_FILE),
- an OpenSSL configuration that loads a provider from the probe
  ($OPENSSL_CONF, $OPENSSL_MODULES).
Nothing may be loaded and nothing written, and each login ends as it does
with a clean environment. Controls show that each probe does act where
nothing keeps it out (a plain process, the CLI given --tcti).

Everything runs in a private mount namespace (unshare -m) with a temporary
pam.d, sudoers, passwd and group bind-mounted over /etc; swtpm runs on a unix
socket in a temporary directory and is stopped by its PID.

usage: caller_environment_test.py TPMAUTHN PAM_MODULE PROBE_LIBRARY   (as root)
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import (Checks, Swtpm, enroll, namespace_argv, require_root_and_tools,  # noqa: E402
                     run_pty, write_private_etc, write_stack, write_sudoers)

tpmauthn, module, probe_built = sys.argv[1:4]
require_root_and_tools("mount namespaces, setuid programs",
                       ("sudo", "su", "unshare", "setpriv", "swtpm", "openssl"))
checks = Checks(verbose=True)
check = checks.check

USER, UID = "envtest", 4242
PIN = "482916"
RP = "pam://caller-environment"


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    swtpm = Swtpm(os.path.join(tmp, "tpm"))
    try:
        # What the attacker's environment points at.
        probe = os.path.join(tmp, "probe.so")
        shutil.copy(probe_built, probe)
        os.chmod(probe, 0o755)
        markers = os.path.join(tmp, "markers")
        os.mkdir(markers)
        os.chmod(markers, 0o1777)
        root_only = os.path.join(tmp, "root-only")
        os.mkdir(root_only, 0o700)
        openssl_conf = os.path.join(tmp, "evil-openssl.cnf")
        with open(openssl_conf, "w") as f:
            f.write("openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"
                    "[provider_sect]\ndefault = default_sect\nprobe = probe_sect\n"
                    f"[default_sect]\nactivate = 1\n[probe_sect]\nmodule = {probe}\nactivate = 1\n")
        os.chmod(openssl_conf, 0o644)
        marker = os.path.join(markers, "probe-loaded")

        def hostile(**extra):
            values = dict(TSS2_LOG="all+TRACE", TSS2_LOGFILE=f"{root_only}/tss2.log",
                          TCTI_PCAP_FILE=f"{root_only}/capture.pcap", OPENSSL_CONF=openssl_conf,
                          OPENSSL_MODULES=tmp, OPENSSL_ENGINES=tmp, TPMAUTHN_PROBE_MARKER=marker)
            values.update(extra)
            return " ".join(f"{k}={v}" for k, v in values.items())

        def nothing_acted(what):
            """Checks, then clears, so that each case reports only its own."""
            check(f"{what}: the probe library was never loaded", not os.path.exists(marker),
                  open(marker).read() if os.path.exists(marker) else "")
            written = os.listdir(root_only)
            check(f"{what}: nothing was written in the root-only directory", not written, written)
            for name in written:
                os.unlink(os.path.join(root_only, name))
            if os.path.exists(marker):
                os.unlink(marker)

        # Controls: each probe acts where nothing keeps it out.
        p = subprocess.run([sys.executable, "-c", f"import ctypes; ctypes.CDLL({probe!r})"],
                           env=dict(os.environ, TPMAUTHN_PROBE_MARKER=marker), capture_output=True)
        check("control: loading the probe library records it", os.path.exists(marker), p.stderr)
        os.unlink(marker)
        p = subprocess.run(["openssl", "list", "-providers"], capture_output=True, text=True,
                           env=dict(os.environ, OPENSSL_CONF=openssl_conf,
                                    TPMAUTHN_PROBE_MARKER=marker))
        check("control: a plain process with that OPENSSL_CONF loads the probe",
              os.path.exists(marker), p.stderr)
        os.unlink(marker)
        p = subprocess.run([tpmauthn, "--tcti", swtpm.tcti, "--store", os.path.join(tmp, "x"),
                            "status"], capture_output=True, text=True,
                           env=dict(os.environ, TSS2_LOG="all+TRACE",
                                    TSS2_LOGFILE=f"{root_only}/control.log"))
        check("control: tpm2-tss in the CLI writes the TSS2_LOGFILE a user asks for",
              os.path.exists(f"{root_only}/control.log"), p.stderr)
        os.unlink(f"{root_only}/control.log")
        p = subprocess.run([tpmauthn, "--tcti", probe, "status"], capture_output=True, text=True,
                           env=dict(os.environ, TPMAUTHN_PROBE_MARKER=marker))
        check("control: the CLI loads a TCTI library named on its command line",
              os.path.exists(marker), p.stderr)
        os.unlink(marker)
        p = subprocess.run([tpmauthn, "status"], capture_output=True, text=True,
                           env=dict(os.environ, TPMAUTHN_PROBE_MARKER=marker, TPMAUTHN_TCTI=probe))
        check("the CLI refuses a library named by $TPMAUTHN_TCTI (exit 3, says why)",
              p.returncode == 3 and "TPMAUTHN_TCTI" in p.stderr and not os.path.exists(marker),
              (p.returncode, p.stderr))

        creds, keys, state = (os.path.join(tmp, n) for n in ("credentials", "keys", "state"))
        with open(creds, "w") as f:
            f.write("# caller environment test\n")
        os.chmod(creds, 0o644)
        p = enroll(tpmauthn, swtpm.tcti, keys, creds, USER, RP, PIN)
        check("enroll the test user", p.returncode == 0, p.stderr)

        pamd = os.path.join(tmp, "pam.d")
        os.mkdir(pamd)
        base = f"credentials={creds} store={keys} state={state} rp_id={RP} origin={RP}"

        def stack(args):
            for service in ("sudo", "su", "other"):
                write_stack(pamd, service, f"auth required {module} {args} max_tries=1")

        write_sudoers(tmp, USER)
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        write_private_etc(tmp, [(USER, UID, home)])
        binds = [(f"{tmp}/{name}", f"/etc/{name}") for name in ("pam.d", "sudoers", "passwd", "group")]
        # A tpmauthn.conf on this machine must not decide the test.
        os.mkdir(os.path.join(tmp, "etc-tpmauthn"))
        if os.path.isdir("/etc/tpmauthn"):
            binds.append((os.path.join(tmp, "etc-tpmauthn"), "/etc/tpmauthn"))
        as_user = f"setpriv --reuid={UID} --regid={UID} --clear-groups"

        def sudo(environment, pin):
            command = f"{as_user} env {environment} sudo -S -u root id -u"
            p = subprocess.run(namespace_argv(binds, command, cwd=tmp), input=pin + "\n",
                               capture_output=True, text=True, timeout=60)
            return p.returncode, p.stdout.strip()

        def su(environment, pin):
            screen = run_pty(namespace_argv(binds, f"{as_user} env {environment} "
                                                   f"su {USER} -c 'echo SU-UID=$(id -u)'", cwd=tmp),
                             [("PIN for", pin)])
            return f"SU-UID={UID}" in screen, screen

        # 1. The documented default: no tcti= anywhere. The module's TPM is
        # /dev/tpmrm0 (absent here), never the library the caller names.
        stack(base)
        clean = sudo("", PIN)
        dirty = sudo(hostile(TPMAUTHN_TCTI=probe), PIN)
        check("no tcti=: sudo with TPMAUTHN_TCTI=probe ends as with a clean environment",
              dirty == clean, (clean, dirty))
        nothing_acted("no tcti=, sudo")
        clean = su("", PIN)[0]
        dirty, screen = su(hostile(TPMAUTHN_TCTI=f"{probe}:x"), PIN)
        check("no tcti=: su with TPMAUTHN_TCTI=probe ends as with a clean environment",
              dirty == clean, screen)
        nothing_acted("no tcti=, su")

        # 2. A working TPM (tcti= in the stack): the login succeeds in both
        # environments, and tpm2-tss writes no log or capture file.
        stack(f"{base} tcti={swtpm.tcti}")
        clean = sudo("", PIN)
        check("control: sudo with the right PIN and a clean environment runs as root",
              clean == (0, "0"), clean)
        dirty = sudo(hostile(TPMAUTHN_TCTI=probe), PIN)
        check("sudo with the right PIN and the hostile environment: the same", dirty == clean,
              dirty)
        nothing_acted("tcti=swtpm, sudo, right PIN")
        clean, dirty = sudo("", "000000"), sudo(hostile(), "000000")
        check("sudo with a wrong PIN: refused in both environments",
              clean[0] != 0 and dirty[0] != 0 and clean == dirty, (clean, dirty))
        nothing_acted("tcti=swtpm, sudo, wrong PIN")
        ok, screen = su(hostile(), PIN)
        check("su with the right PIN and the hostile environment gives the shell", ok, screen)
        nothing_acted("tcti=swtpm, su")
        # The caller's environment is left as it was: su passes it on to the shell.
        screen = run_pty(namespace_argv(binds, f"{as_user} env {hostile()} su {USER} -c "
                                               "'echo \"LOG=$TSS2_LOG FILE=$TSS2_LOGFILE\"'",
                                        cwd=tmp),
                         [("PIN for", PIN)])
        check("the environment su hands on is the caller's, unchanged",
              f"LOG=all+TRACE FILE={root_only}/tss2.log" in screen, screen)
    finally:
        swtpm.stop()

checks.finish()
