#!/usr/bin/env python3
"""The fleet path end to end against a real OpenLDAP server the test starts
on 127.0.0.1 (slapd from Debian, our schema, a test CA):

- `tpmauthn ldap-credentials` prints a user's lines from our attribute and
  SSSD's passkey values, over StartTLS and ldaps, bound as a reader or
  anonymously; a user name with filter metacharacters matches nobody;
- the server down -> exit 75 (unreachable); a certificate the CA did not
  sign, or a wrong bind password -> exit 1 (not "unreachable": the cache
  must not paper over them);
- `add ... --ldif` and `remove ... --ldif` give changes ldapmodify applies;
- pam_tpmauthn.so with credentials_command= running ldap-credentials as
  nobody logs a user in with a security key whose line lives only in the
  directory.

usage: ldap_credentials_test.py TPMAUTHN PAMTEST_RUNNER PAM_MODULE PRELOAD KEY_TOOL SCHEMA
"""
import base64
import grp
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, direct_service_dir, login_paths, pam_wrapper_env  # noqa: E402

tpmauthn, runner, module, preload, key_tool, schema = sys.argv[1:7]
SLAPD = "/usr/sbin/slapd"
if os.geteuid() != 0 or not os.path.exists(SLAPD) or not shutil.which("ldapmodify"):
    print("skipped: needs root, slapd and ldap-utils")
    sys.exit(77)
checks = Checks(verbose=True)
RP = "pam://fleet-test"
SSSD_RP = "ipa.test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)  # nobody runs the copied tpmauthn from here
    # A test CA and a server certificate for 127.0.0.1.
    pki = os.path.join(tmp, "pki")
    os.mkdir(pki)
    ca_key, ca, key, csr, cert = (os.path.join(pki, n) for n in
                                  ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=tpmauthn test CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext = os.path.join(pki, "ext")
    open(ext, "w").write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    other_ca = os.path.join(pki, "other-ca.pem")
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", os.path.join(pki, "other.key"), "-out", other_ca, "-days", "2",
        "-subj", "/CN=someone else's CA")
    for f in os.listdir(pki):
        os.chmod(os.path.join(pki, f), 0o644)

    # SSSD's passkey attribute, as a test stand-in (FreeIPA's own schema is
    # not in Debian's slapd).
    passkey_schema = os.path.join(tmp, "passkey.schema")
    open(passkey_schema, "w").write(
        "attributetype ( 2.25.117292019119609847540867606959215445624.99.1 NAME 'passkey'\n"
        "  EQUALITY caseExactMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\n"
        "objectclass ( 2.25.117292019119609847540867606959215445624.99.2 NAME 'passkeyUser'\n"
        "  SUP top AUXILIARY MAY passkey )\n")
    db = os.path.join(tmp, "db")
    os.mkdir(db)
    pidfile = os.path.join(tmp, "slapd.pid")
    conf = os.path.join(tmp, "slapd.conf")
    open(conf, "w").write(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
include {schema}
include {passkey_schema}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {pidfile}
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
maxsize 10485760
suffix "dc=test"
rootdn "cn=admin,dc=test"
rootpw secret
directory {db}
index uid eq
access to attrs=userPassword by anonymous auth by * none
access to * by * read
""")
    people = "ou=people,dc=test"
    data = os.path.join(tmp, "data.ldif")

    def person(uid, number, extra_class="", extra=""):
        return (f"dn: uid={uid},{people}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
                f"{extra_class}cn: {uid}\nsn: {uid}\nuid: {uid}\nuidNumber: {number}\n"
                f"gidNumber: {number}\nhomeDirectory: /home/{uid}\n{extra}\n")

    # A security key with credentials for alice (our attribute), dana (added
    # later with --ldif) and bob (as SSSD stores passkeys).
    keys = os.path.join(tmp, "keys")
    os.mkdir(keys)
    fake = os.path.join(keys, "k.json")
    run(key_tool, "new", fake)
    alice_key = json.loads(run(key_tool, "add", fake, RP).stdout)
    alice_line = (f"alice {alice_key['id']} es256 {alice_key['cose']} fido2 uv=none,rp={RP} "
                  "2026-12-04 alice's key")
    # bob's SSSD value: the credential id and an SPKI, standard base64.
    spki_der = subprocess.run(["openssl", "pkey", "-in", ca_key, "-pubout", "-outform", "DER"],
                              capture_output=True, check=True).stdout
    bob_id = base64.b64encode(os.urandom(32)).decode()
    bob_value = f"passkey:{bob_id},{base64.b64encode(spki_der).decode()}"
    open(data, "w").write(
        "dn: dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: test\no: test\n\n"
        f"dn: {people}\nobjectClass: organizationalUnit\nou: people\n\n"
        "dn: cn=reader,dc=test\nobjectClass: person\ncn: reader\nsn: reader\n"
        "userPassword: reader-secret\n\n"
        + person("alice", 2001, "objectClass: tpmauthnUser\n", f"tpmauthnCredential: {alice_line}\n")
        + person("bob", 2002, "objectClass: passkeyUser\n", f"passkey: {bob_value}\n")
        + person("carol", 2003)
        + person("dana", 2004, "objectClass: tpmauthnUser\n"))
    p = run("slaptest", "-f", conf, "-u")
    checks.check("slapd accepts our schema (slaptest)", p.returncode == 0, p.stderr)
    p = run("slapadd", "-f", conf, "-l", data)
    checks.check("the test directory loads", p.returncode == 0, p.stderr)
    port, tls_port = free_port(), free_port()
    slapd = None

    def start():
        global slapd
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        subprocess.run([SLAPD, "-f", conf, "-h",
                        f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"], check=True)
        for _ in range(200):
            if os.path.exists(pidfile) and open(pidfile).read().strip():
                break
            time.sleep(0.05)
        slapd = int(open(pidfile).read())
        # Ready when it answers (the pid file comes before the listener).
        for _ in range(200):
            if run("ldapsearch", "-x", "-H", f"ldap://127.0.0.1:{port}", "-b", "dc=test", "-s",
                   "base", "dn").returncode == 0:
                return
            time.sleep(0.05)

    def stop():
        global slapd
        if slapd:
            os.kill(slapd, 15)
            for _ in range(200):
                try:
                    os.kill(slapd, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            slapd = None

    start()
    try:
        secret = os.path.join(tmp, "ldap.secret")
        open(secret, "w").write("reader-secret\n")
        os.chown(secret, 0, grp.getgrnam("nogroup").gr_gid)
        os.chmod(secret, 0o640)

        def settings(name, lines):
            path = os.path.join(tmp, name)
            open(path, "w").write(lines)
            os.chmod(path, 0o644)
            return path

        base = (f"base {people}\nca_file {ca}\npasskey_rp_id {SSSD_RP}\n"
                f"bind_dn cn=reader,dc=test\nbind_password_file {secret}\n")
        starttls = settings("starttls.conf", f"uri ldap://127.0.0.1:{port}\n" + base)
        ldaps = settings("ldaps.conf", f"uri ldaps://127.0.0.1:{tls_port}\n" + base)
        anonymous = settings("anonymous.conf", f"uri ldap://127.0.0.1:{port}\nbase {people}\n"
                             f"ca_file {ca}\npasskey_rp_id {SSSD_RP}\n")

        def creds_of(user, cfg=starttls):
            return run(tpmauthn, "ldap-credentials", "--config", cfg, user)

        p = creds_of("alice")
        checks.check("alice's line over StartTLS, bound as the reader",
                     p.returncode == 0 and p.stdout.split() == alice_line.split(), (p.stdout, p.stderr))
        p = creds_of("bob")
        fields = p.stdout.split()
        checks.check("bob's SSSD passkey becomes a fido2 line for passkey_rp_id",
                     p.returncode == 0 and fields[:3] == ["bob", base64.urlsafe_b64encode(
                         base64.b64decode(bob_id)).decode().rstrip("="), "es256"] and
                     fields[4] == "fido2" and f"rp={SSSD_RP}" in fields[5], (p.stdout, p.stderr))
        p = creds_of("carol")
        checks.check("a user without credentials: nothing printed, exit 0",
                     p.returncode == 0 and p.stdout == "", p.stderr)
        p = creds_of("*")
        checks.check("'*' is escaped (RFC 4515) and matches nobody",
                     p.returncode == 0 and p.stdout == "", (p.stdout, p.stderr))
        p = creds_of("ALICE")
        checks.check("the filter matches ALICE (uid ignores case), but the entry is alice's: "
                     "nothing printed, and stderr says why", p.returncode == 0 and
                     p.stdout == "" and 'exactly "ALICE"' in p.stderr, (p.stdout, p.stderr))
        p = creds_of("alice", ldaps)
        checks.check("ldaps:// works too", p.returncode == 0 and "alice" in p.stdout, p.stderr)
        p = creds_of("alice", anonymous)
        checks.check("anonymous bind works too", p.returncode == 0 and "alice" in p.stdout, p.stderr)
        wrong_ca = settings("wrong-ca.conf", f"uri ldap://127.0.0.1:{port}\nbase {people}\n"
                            f"ca_file {other_ca}\n")
        p = creds_of("alice", wrong_ca)
        checks.check("a certificate the CA did not sign: exit 1, not 75",
                     p.returncode == 1, (p.returncode, p.stderr))
        wrong_ca_ldaps = settings("wrong-ca-ldaps.conf", f"uri ldaps://127.0.0.1:{tls_port}\n"
                                  f"base {people}\nca_file {other_ca}\n")
        p = creds_of("alice", wrong_ca_ldaps)
        checks.check("... over ldaps:// too (libldap says 'Can't contact' there)",
                     p.returncode == 1, (p.returncode, p.stderr))
        system_ca = settings("system-ca.conf", f"uri ldap://127.0.0.1:{port}\nbase {people}\n")
        p = creds_of("alice", system_ca)
        checks.check("without ca_file the system's CAs decide (not ours): exit 1",
                     p.returncode == 1, (p.returncode, p.stderr))
        missing_ca = settings("missing-ca.conf", f"uri ldap://127.0.0.1:{port}\nbase {people}\n"
                              f"ca_file {tmp}/no-such-ca.pem\n")
        p = creds_of("alice", missing_ca)
        checks.check("a ca_file that cannot be read: exit 1, saying so",
                     p.returncode == 1 and "no-such-ca.pem" in p.stderr, (p.returncode, p.stderr))
        # Servers that accept connections and never answer: the lookup ends
        # within its own timeout as "unreachable" (75), before the module's
        # credentials_command_timeout would kill it (then no cache could help).
        silent = [socket.socket(), socket.socket()]
        for listener in silent:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
        quiet = settings("silent.conf", "uri " + " ".join(
            f"ldap://127.0.0.1:{listener.getsockname()[1]}" for listener in silent) +
            f"\nbase {people}\nca_file {ca}\nnetwork_timeout 3\nsearch_timeout 3\ntimeout 2\n")
        p = creds_of("alice", quiet)
        checks.check("servers that never answer: exit 75 once timeout is spent, the second "
                     "server not tried", p.returncode == 75 and "no time left" in p.stderr,
                     (p.returncode, p.stderr))
        for listener in silent:
            listener.close()
        open(secret, "w").write("")
        p = creds_of("alice")
        checks.check("an empty password file is refused (no silent anonymous bind)",
                     p.returncode == 2 and "empty" in p.stderr, (p.returncode, p.stderr))
        open(secret, "w").write("wrong\n")
        p = creds_of("alice")
        checks.check("a wrong bind password: exit 1", p.returncode == 1 and "bind" in p.stderr,
                     (p.returncode, p.stderr))
        open(secret, "w").write("reader-secret\n")
        os.chmod(secret, 0o644)
        p = creds_of("alice")
        checks.check("a world-readable password file is refused", p.returncode == 2 and
                     "readable by everyone" in p.stderr, p.stderr)
        os.chmod(secret, 0o640)

        # Publishing: enroll a key for dana, then add --ldif / remove --ldif.
        env = dict(os.environ, LD_PRELOAD=" ".join(filter(None, [
            os.environ.get("TPMAUTHN_ASAN_RUNTIME"), preload])), TPMAUTHN_TEST_FIDO2_KEYS=keys)
        scratch = os.path.join(tmp, "scratch-credentials")
        p = run(tpmauthn, "--credentials", scratch, "enroll", "dana", "--authenticator", "fido2",
                "--uv", "none", "--rp-id", RP, "--origin", RP, "--json", env=env)
        reg = os.path.join(tmp, "reg.json")
        open(reg, "w").write(p.stdout)
        dn = f"uid=dana,{people}"
        p = run(tpmauthn, "add", "dana", reg, "--rp-id", RP, "--origin", RP, "--kind", "fido2",
                "--uv", "none", "--label", "Dana's key", "--ldif", "--dn", dn)
        checks.check("add --ldif prints an LDIF modify", p.returncode == 0 and
                     p.stdout.startswith(f"dn: {dn}\nchangetype: modify\nadd: tpmauthnCredential\n"),
                     (p.stdout, p.stderr))
        admin = ["-x", "-H", f"ldap://127.0.0.1:{port}", "-D", "cn=admin,dc=test", "-w", "secret"]
        m = run("ldapmodify", *admin, input=p.stdout)
        checks.check("ldapmodify applies it", m.returncode == 0, m.stderr)
        p = creds_of("dana")
        dana_id = json.loads(open(reg).read() or "{}").get("id", "?")
        checks.check("ldap-credentials shows dana's new line",
                     p.returncode == 0 and dana_id in p.stdout, (p.stdout, p.stderr))

        # The module: dana logs in with the key, her line only in the directory.
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        shutil.copy(tpmauthn, os.path.join(bindir, "tpmauthn"))
        os.chmod(os.path.join(bindir, "tpmauthn"), 0o755)
        creds, _, state = login_paths(tmp, "nothing here: the directory has it")
        pamd = direct_service_dir(tmp)
        pam_env = pam_wrapper_env(pamd, preload=[preload], TPMAUTHN_TEST_FIDO2_KEYS=keys,
                                  PAM_WRAPPER_DEBUGLEVEL="3")
        # (pamtest_runner --direct splits arguments on spaces, so a wrapper
        # stands in for PAM's [credentials_command=... ...] syntax.)
        wrapper = os.path.join(bindir, "directory-lookup")
        open(wrapper, "w").write(f"#!/bin/sh\nexec {bindir}/tpmauthn ldap-credentials "
                                 f"--config {starttls} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        args = (f"credentials={creds} state={state} rp_id={RP} origin={RP} uv=discouraged "
                f"authenticators=fido2 credentials_command={wrapper}")
        p = run(runner, "--direct", module, args, "dana", env=pam_env)
        checks.check("the module logs dana in with the line from the directory",
                     p.stdout.startswith("result 0"), (p.stdout, p.stderr[-600:]))

        p = run(tpmauthn, "remove", "dana", "--ldif", "--dn", dn, "--ldap-config", starttls,
                "--", dana_id)
        checks.check("remove --ldif prints the delete of the stored value",
                     p.returncode == 0 and "delete: tpmauthnCredential" in p.stdout,
                     (p.stdout, p.stderr))
        m = run("ldapmodify", *admin, input=p.stdout)
        checks.check("ldapmodify applies it", m.returncode == 0, m.stderr)
        p = run(runner, "--direct", module, args, "dana", env=pam_env)
        checks.check("after it dana is unknown (PAM_USER_UNKNOWN)",
                     p.stdout.startswith("result 10"), p.stdout)

        # The server down: exit 75 ("unreachable", the module's cache may stand in).
        stop()
        p = creds_of("alice")
        checks.check("the server down: exit 75 (unreachable)", p.returncode == 75, p.stderr)
        p = run(tpmauthn, "remove", "dana", "--ldif", "--dn", dn, "--ldap-config", starttls,
                "--", dana_id)
        checks.check("remove --ldif with the server down: exit 75 too", p.returncode == 75,
                     (p.returncode, p.stderr))
    finally:
        stop()

checks.finish()
