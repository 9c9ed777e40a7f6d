#!/usr/bin/env python3
"""SSH login with the client's own TPM credential through real OpenSSH.

Server: /usr/sbin/sshd, started by absolute path through a symlink named
tpmauthn-sshd (so its PAM service is "tpmauthn-sshd"), on 127.0.0.1 with its
own config and host key, AuthenticationMethods keyboard-interactive, inside a
private mount namespace where a temporary pam.d, passwd and group are
bind-mounted and tmpfs hides /run and /var/log. The server has no TPM.
Client: its own swtpm and key store; `tpmauthn ssh` on a pseudo-terminal.
Faulty clients (a flipped byte, a replayed reply, another origin, another
user's credential) are SSH_ASKPASS scripts around `tpmauthn respond`.
Issue #15: the client's swtpm has EK certificates (swtpm_setup +
swtpm_localca); it gets an AIK certificate from an attestation CA in the temp
dir, and the server's `add --require-attestation tpm` refuses that user's
self-attested registration and takes the TPM-attested (RS256) one, which then
logs in through sshd.
sshd and swtpm are stopped by PID.

usage: ssh_test.py TPMAUTHN PAM_MODULE     (as root; exit 77 = skipped)
"""
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import (Checks, Swtpm, namespace_argv, require_root_and_tools, run_pty,  # noqa: E402
                     wait_for_socket, write_private_etc)
checks = Checks(verbose=True)
check = checks.check


tpmauthn, module = sys.argv[1], sys.argv[2]
require_root_and_tools("mount namespace, sshd", ("/usr/sbin/sshd", "ssh", "unshare", "swtpm", "ssh-keygen"))

USER, UID = "tpmssh", 4252
OTHER = "tpmssh2"
ATTESTED = "tpmssh3"
PIN, OTHER_PIN, ATTESTED_PIN = "369024", "147025", "258036"
RP = "ssh-test.example"
ORIGIN = "ssh://127.0.0.1"



def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port



with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    srv, cli = os.path.join(tmp, "server"), os.path.join(tmp, "client")
    os.makedirs(srv)
    os.makedirs(os.path.join(cli, "tpm"))
    sock = os.path.join(cli, "tpm", "sock")
    swtpm = Swtpm(os.path.join(cli, "tpm"), ek_certificates=True)
    sshd = None
    try:
        client = [tpmauthn, "--tcti", f"swtpm:path={sock}", "--store", f"{cli}/keys",
                  "--credentials", f"{cli}/credentials"]

        def enroll(user, pin, *extra):
            return subprocess.run(client + ["enroll", user, "--label", f"{user}'s laptop", "--rp-id",
                                            RP, "--origin", ORIGIN, "--pin-fd", "0", "--json",
                                            *extra],
                                  input=pin + "\n", capture_output=True, text=True)

        def add(user, registration, *policy):
            open(f"{cli}/reg.json", "w").write(registration)
            return subprocess.run([tpmauthn, "--credentials", server_creds, "add", user,
                                   f"{cli}/reg.json", "--rp-id", RP, "--origin", ORIGIN, *policy],
                                  capture_output=True, text=True)

        # Step 1 (client): enroll for the server; step 2 (server): add after §7.1 checks.
        server_creds = os.path.join(srv, "credentials")
        open(server_creds, "w").write("# server credentials\n")
        os.chmod(server_creds, 0o644)
        for user, pin in ((USER, PIN), (OTHER, OTHER_PIN)):
            p = enroll(user, pin)
            check(f"client enrolls {user} for the server", p.returncode == 0, p.stderr)
            open(f"{cli}/{user}.json", "w").write(p.stdout)
            p = add(user, p.stdout)
            check(f"server adds {user}'s registration", p.returncode == 0, p.stderr)

        # Issue #15: a server that takes only TPM-attested keys. The fleet's
        # attestation CA trusts the TPM maker's EK CA (swtpm_localca's here)
        # and certifies the client's attestation key, over files.
        ca_dir, anchors = f"{srv}/attestation-ca", f"{srv}/attestation-roots"
        p = subprocess.run([tpmauthn, "attestation-ca", "init", ca_dir], capture_output=True,
                           text=True)
        check("attestation-ca init", p.returncode == 0, p.stderr)
        for name in ("swtpm-localca-rootca-cert.pem", "issuercert.pem"):
            shutil.copy(os.path.join(swtpm.ek_ca_dir, name), f"{ca_dir}/ek-roots")
        os.mkdir(anchors)
        shutil.copy(f"{ca_dir}/ca-cert.pem", anchors)
        for what, step in (
                ("attestation-key request (client)",
                 client + ["attestation-key", "request", "--out", f"{cli}/ak-request.json"]),
                ("attestation-ca issue (admin)",
                 [tpmauthn, "attestation-ca", "issue", ca_dir, f"{cli}/ak-request.json", "--out",
                  f"{cli}/ak-response.json"]),
                ("attestation-key install (client)",
                 client + ["attestation-key", "install", f"{cli}/ak-response.json"])):
            p = subprocess.run(step, capture_output=True, text=True)
            check(what, p.returncode == 0, p.stderr)
        require = ["--require-attestation", "tpm", "--trust-anchors", anchors]
        p = enroll(ATTESTED, ATTESTED_PIN, "--algorithm", "rs256")
        check(f"client enrolls {ATTESTED} self-attested", p.returncode == 0, p.stderr)
        p = add(ATTESTED, p.stdout, *require)
        check("the server refuses the self-attested registration under --require-attestation tpm",
              p.returncode == 1 and "attestation" in p.stderr, p.stderr)
        check("... and writes no line for that user",
              f"{ATTESTED} " not in open(server_creds).read(), open(server_creds).read())
        p = enroll(ATTESTED, ATTESTED_PIN, "--attestation", "tpm", "--algorithm", "rs256")
        check(f"client enrolls {ATTESTED} with --attestation tpm --algorithm rs256",
              p.returncode == 0, p.stderr)
        p = add(ATTESTED, p.stdout, *require)
        check("the server adds the TPM-attested registration (AttCA chain to its anchor)",
              p.returncode == 0 and "chain trusted" in p.stdout, p.stdout + p.stderr)

        # The server: sshd in a private mount namespace.
        port = free_port()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{srv}/hostkey"],
                       check=True)
        os.symlink("/usr/sbin/sshd", f"{srv}/tpmauthn-sshd")

        def sshd_accepts(line):
            """Whether this sshd knows a configuration keyword (sshd -t, in a
            namespace whose /run has the privilege separation directory)."""
            with open(f"{srv}/probe_config", "w") as f:
                f.write(f"HostKey {srv}/hostkey\n{line}\n")
            probe = namespace_argv([], f"/usr/sbin/sshd -t -f {srv}/probe_config",
                                   prepare=["mkdir -p /run/sshd"])
            return subprocess.run(probe, capture_output=True).returncode == 0

        # OpenSSH 10 execs sshd-session, which no longer takes the PAM service
        # from the binary's name; and its per-source penalties would refuse
        # 127.0.0.1 after this test's deliberate failures (docs/ssh.md).
        newer = [line for line in ("PAMServiceName tpmauthn-sshd", "PerSourcePenalties no")
                 if sshd_accepts(line)]
        version = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr
        if version.startswith("OpenSSH_") and int(version[8:].split(".")[0]) >= 10:
            check("OpenSSH 10's sshd takes PAMServiceName and PerSourcePenalties",
                  len(newer) == 2, (version, newer))
        with open(f"{srv}/sshd_config", "w") as f:
            f.write(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {srv}/hostkey
PidFile {srv}/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
PermitRootLogin no
StrictModes no
PrintMotd no
LogLevel VERBOSE
""" + "".join(line + "\n" for line in newer))
        os.mkdir(f"{srv}/pam.d")
        args = (f"mode=remote credentials={server_creds} state={srv}/state rp_id={RP} "
                f"origin={ORIGIN}")
        with open(f"{srv}/pam.d/tpmauthn-sshd", "w") as f:
            f.write(f"auth required {module} {args}\naccount required pam_permit.so\n"
                    "session required pam_permit.so\npassword required pam_deny.so\n")
        with open(f"{srv}/pam.d/other", "w") as f:
            f.write("auth required pam_deny.so\naccount required pam_deny.so\n")
        write_private_etc(srv, [(USER, UID, tmp), (OTHER, UID + 1, tmp), (ATTESTED, UID + 2, tmp)])
        binds = [(f"{srv}/{name}", f"/etc/{name}") for name in ("pam.d", "passwd", "group")]
        sshd_log = open(f"{srv}/sshd.log", "w")
        sshd = subprocess.Popen(namespace_argv(binds, f"{srv}/tpmauthn-sshd -D -e -f {srv}/sshd_config",
                                               prepare=["mkdir -p /run/sshd"], cwd=srv),
                                stdout=sshd_log,
                                stderr=subprocess.STDOUT)
        check("sshd listens on 127.0.0.1", wait_for_socket(port=port), open(f"{srv}/sshd.log").read())

        ssh_opts = ["-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
                    "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=keyboard-interactive",
                    "-o", "NumberOfPasswordPrompts=1", "-o", "LogLevel=ERROR"]
        env = dict(os.environ, TSS2_LOG="all+NONE")

        # The real thing: only a PIN is typed.
        screen = run_pty(client + ["ssh"] + ssh_opts + [f"{USER}@127.0.0.1", "echo SSH-UID=$(id -u)"],
                         [("PIN for", PIN)], env=env)
        check("tpmauthn ssh logs in with only the PIN", f"SSH-UID={UID}" in screen, screen)
        check("the PIN prompt names the server's origin", f"signing in to {ORIGIN}" in screen, screen)

        screen = run_pty(client + ["ssh"] + ssh_opts + [f"{USER}@127.0.0.1", "echo SSH-UID=$(id -u)"],
                         [("PIN for", "0000")], env=env)
        check("a wrong PIN does not log in", f"SSH-UID={UID}" not in screen, screen)

        screen = run_pty(client + ["ssh"] + ssh_opts + [f"{ATTESTED}@127.0.0.1",
                                                        "echo SSH-UID=$(id -u)"],
                         [("PIN for", ATTESTED_PIN)], env=env)
        check("the user with a TPM-attested RS256 key logs in through sshd",
              f"SSH-UID={UID + 2}" in screen, screen)

        # Faulty clients: an askpass that answers through `tpmauthn respond`, then misbehaves.
        saved = f"{cli}/saved-reply"
        askpass = f"{cli}/fault-askpass"
        with open(askpass, "w") as f:
            f.write(f"""#!/usr/bin/env python3
import base64, os, subprocess, sys
prompt = sys.argv[1]
mode = os.environ["FAULT"]
tag = "tpmauthn-request-v1 "
if tag not in prompt:
    sys.exit(1)
request = tag + prompt.split(tag, 1)[1].split("\\n")[0]
if mode == "other-user":
    # Point the request at the OTHER user's credential: the client then returns a
    # valid assertion (right challenge, right origin) from a credential that is
    # not the target user's.
    import hashlib, json
    raw = bytearray(base64.urlsafe_b64decode(request[len(tag):] + "=" * (-len(request[len(tag):]) % 4)))
    rp_len = raw[34]
    other_id = json.load(open("{cli}/{OTHER}.json"))["rawId"]
    other_id = base64.urlsafe_b64decode(other_id + "=" * (-len(other_id) % 4))
    raw = raw[:35 + rp_len] + bytes([1]) + hashlib.sha256(other_id).digest()[:8]
    request = tag + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
origin = "ssh://evil.example" if mode == "origin" else "{ORIGIN}"
pin = "{OTHER_PIN}" if mode in ("other-user", "other-self") else "{PIN}"
p = subprocess.run({client!r} + ["respond", "--origin", origin, "--pin-fd", "0", request],
                   input=pin + "\\n", capture_output=True, text=True)
reply = p.stdout.strip()
if mode == "record":
    open("{saved}", "w").write(reply)
elif mode == "replay":
    reply = open("{saved}").read()
elif mode == "flip":
    tag, data = reply.split(" ")
    raw = bytearray(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    raw[len(raw) // 2] ^= 1
    reply = tag + " " + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
print(reply)
""")
        os.chmod(askpass, 0o755)

        def ssh_with(mode, user=USER):
            e = dict(env, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", FAULT=mode)
            return subprocess.run(["ssh"] + ssh_opts + [f"{user}@127.0.0.1", "echo SSH-UID=$(id -u)"],
                                  env=e, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                  timeout=60)

        p = ssh_with("record")
        check("tpmauthn respond's answer logs in (and is recorded)", f"SSH-UID={UID}" in p.stdout,
              p.stdout + p.stderr)
        for mode, reply in (("replay", "a reply replayed from an earlier session"),
                            ("flip", "a reply with one flipped byte"),
                            ("origin", "a reply made for another origin"),
                            ("other-user", "a reply from another user's credential")):
            p = ssh_with(mode)
            check(f"{reply} is refused", p.returncode != 0 and "SSH-UID" not in p.stdout,
                  p.stdout + p.stderr)
        p = ssh_with("other-self", user=OTHER)
        check("the other user logs in with that same credential as themselves",
              f"SSH-UID={UID + 1}" in p.stdout, p.stdout + p.stderr)
    finally:
        if sshd:
            sshd.send_signal(signal.SIGTERM)
            try:
                sshd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sshd.kill()
        swtpm.stop()
        if checks.failures:
            print("--- sshd log ---")
            print(open(f"{srv}/sshd.log").read()[-3000:] if os.path.exists(f"{srv}/sshd.log") else "")

checks.finish()
