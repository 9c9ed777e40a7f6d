#!/usr/bin/env python3
"""credentials_command= (sshd's AuthorizedKeysCommand pattern) as a user of it
would check it: the module logs in with a credential only the command prints;
the command runs as credentials_command_user with a clean environment and
the user as its last argument; a failing, slow, chatty or malformed command,
or a line for someone else, is PAM_AUTHINFO_UNAVAIL (never "no credentials",
so nouserok cannot let anyone through); exit 75 ("directory unreachable")
uses the last good answer up to cache_max_age, and a credential removed from
the directory stops working after the next good answer.

The credential is a security key's (the in-memory key behind
fake_fido2_preload.so), so no TPM is needed.

usage: credentials_command_test.py PAMTEST_RUNNER PAM_MODULE PRELOAD KEY_TOOL   (root)
"""
import glob
import json
import os
import pwd
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, direct_service_dir, login_paths, pam_wrapper_env  # noqa: E402

runner, module, preload, key_tool = sys.argv[1:5]
if os.geteuid() != 0:
    print("skipped: needs root (the command runs as another user)")
    sys.exit(77)
checks = Checks(verbose=True)
PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_USER_UNKNOWN = 0, 7, 9, 10
PAM_IGNORE_SEEN = 6  # libpam folds a lone PAM_IGNORE into PAM_PERM_DENIED (--direct)
RP = "pam://fleet"
nobody = pwd.getpwnam("nobody")

with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)  # the command user must reach its script
    keys = os.path.join(tmp, "keys")
    os.mkdir(keys)
    key = os.path.join(keys, "a.json")
    subprocess.run([key_tool, "new", key], check=True)
    made = json.loads(subprocess.run([key_tool, "add", key, RP], check=True,
                                     capture_output=True, text=True).stdout)
    line = f"dana {made['id']} es256 {made['cose']} fido2 uv=none,rp={RP} 2026-12-04 from LDAP"
    creds, _, state = login_paths(tmp, "only the directory knows dana")
    pamd = direct_service_dir(tmp)
    # Where the command leaves what it saw: a sticky, world-writable drop box.
    seen = os.path.join(tmp, "seen")
    os.mkdir(seen)
    os.chmod(seen, 0o1777)
    answer = os.path.join(tmp, "answer")  # what the command prints (root's file)
    command = os.path.join(tmp, "directory-command")
    with open(command, "w") as f:
        f.write(f"""#!/bin/sh
id -u > {seen}/uid
env > {seen}/env
printf '%s\\n' "$@" > {seen}/args
mode=$(cat {tmp}/mode)
case "$mode" in
  ok) cat {answer} ;;
  down) echo "ldap://ldap.example: Can't contact LDAP server" >&2; exit 75 ;;
  fail) echo "bind refused" >&2; exit 1 ;;
  slow) sleep 30 ;;
  chatty) head -c 2000000 /dev/zero | tr '\\\\0' '#' ;;
  hang) exec >&- 2>&-; exec sleep 31 ;;
esac
""")
    os.chmod(command, 0o755)

    def mode(m):
        with open(os.path.join(tmp, "mode"), "w") as f:
            f.write(m)
        os.chmod(os.path.join(tmp, "mode"), 0o644)

    def prints(text):
        with open(answer, "w") as f:
            f.write(text)
        os.chmod(answer, 0o644)

    def login(user="dana", extra="", closed_stdin=False):
        args = (f"credentials={creds} state={state} rp_id={RP} origin={RP} uv=discouraged "
                f"authenticators=fido2 credentials_command={command} {extra}")
        env = pam_wrapper_env(pamd, preload=[preload], TPMAUTHN_TEST_FIDO2_KEYS=keys,
                              PAM_WRAPPER_DEBUGLEVEL="3", SECRET_OF_THE_CALLER="x")
        started = time.monotonic()
        p = subprocess.run([runner, "--direct", module, args, user], env=env,
                           capture_output=True, text=True, timeout=60,
                           preexec_fn=(lambda: os.close(0)) if closed_stdin else None)
        rc = None
        for l in p.stdout.splitlines():
            if l.startswith("result "):
                rc = int(l.split()[1])
        log = [l.split("SYSLOG", 1)[-1] for l in p.stderr.splitlines() if "SYSLOG" in l]
        return rc, "\n".join(log), time.monotonic() - started

    mode("ok")
    prints(line + "\n")
    rc, log, _ = login()
    checks.check("a credential only the command prints logs in", rc == PAM_SUCCESS, log)
    checks.check("the command ran as nobody",
                 open(os.path.join(seen, "uid")).read().strip() == str(nobody.pw_uid))
    env = open(os.path.join(seen, "env")).read()
    checks.check("with a clean environment (PATH only, nothing of the caller's)",
                 "SECRET_OF_THE_CALLER" not in env and "LD_PRELOAD" not in env and
                 "PATH=/usr/sbin:/usr/bin:/sbin:/bin" in env, env)
    checks.check("the user is its last argument",
                 open(os.path.join(seen, "args")).read().split() == ["dana"])
    cache = glob.glob(os.path.join(state, "directory", "*.lines"))
    checks.check("the good answer is cached (0600, root's)",
                 len(cache) == 1 and os.stat(cache[0]).st_mode & 0o777 == 0o600, cache)

    rc, log, _ = login(closed_stdin=True)
    checks.check("a caller with its stdin closed (a daemon) gets the command's answer",
                 rc == PAM_SUCCESS, log)
    os.unlink(os.path.join(seen, "uid"))  # nobody's, in a sticky directory
    rc, log, _ = login(extra="credentials_command_user=daemon")
    checks.check("credentials_command_user= picks the user",
                 rc == PAM_SUCCESS and open(os.path.join(seen, "uid")).read().strip() ==
                 str(pwd.getpwnam("daemon").pw_uid), log)

    # The directory is down: the cached answer stands in, and the log says so.
    mode("down")
    rc, log, _ = login()
    checks.check("unreachable (exit 75): the cached answer logs in", rc == PAM_SUCCESS, log)
    checks.check("... and the log says it used the cache", "using the answer cached" in log, log)
    rc, log, _ = login(extra="cache_max_age=0")
    checks.check("cache_max_age=0: unreachable is PAM_AUTHINFO_UNAVAIL",
                 rc == PAM_AUTHINFO_UNAVAIL and "cache_max_age=0" in log, log)
    if not cache:
        checks.finish()
    stamp = open(cache[0]).read().split("\n", 1)
    with open(cache[0], "w") as f:
        f.write(f"tpmauthn-directory-cache 1 {int(time.time()) - 7200}\n{stamp[1]}")
    rc, log, _ = login(extra="cache_max_age=1h")
    checks.check("a cached answer older than cache_max_age is not used",
                 rc == PAM_AUTHINFO_UNAVAIL and "s old (cache_max_age=3600 s)" in log, log)
    rc, log, _ = login(extra="cache_max_age=3h")
    checks.check("... and one younger is", rc == PAM_SUCCESS, log)

    # Every other failure is unavailable, never "no credentials" (nouserok).
    for m, why in (("fail", "exit status 1: bind refused"), ("slow", "no answer within 5000 ms"),
                   ("chatty", "printed more than")):
        mode(m)
        rc, log, took = login(extra="nouserok")
        checks.check(f"command {m}: PAM_AUTHINFO_UNAVAIL even with nouserok, logged",
                     rc == PAM_AUTHINFO_UNAVAIL and why in log, (rc, log))
        if m == "slow":
            checks.check("a slow command is killed after 5 s", took < 15, took)
            left = subprocess.run(["pgrep", "-u", "nobody", "-f", "sleep 30"],
                                  capture_output=True, text=True).stdout.split()
            checks.check("... with what it started (its process group)", not left, left)
    # Closing its output is not the end of a command: it must exit in time.
    mode("hang")
    rc, log, took = login(extra="nouserok credentials_command_timeout=2")
    checks.check("a command that closes its output and hangs: PAM_AUTHINFO_UNAVAIL at "
                 "credentials_command_timeout", rc == PAM_AUTHINFO_UNAVAIL and
                 "did not exit within 2000 ms" in log, (rc, log))
    left = subprocess.run(["pgrep", "-u", "nobody", "-f", "sleep 31"],
                          capture_output=True, text=True).stdout.split()
    checks.check("... and it is killed", not left, left)
    # A command that cannot start says why (not just "exit status 126/127").
    broken = os.path.join(tmp, "broken-command")
    with open(broken, "w") as f:
        f.write("#!/nonexistent/interpreter\n")
    os.chmod(broken, 0o755)
    rc, log, _ = login(extra=f"credentials_command={broken}")
    checks.check("a command that cannot be started: the reason is logged",
                 rc == PAM_AUTHINFO_UNAVAIL and
                 "could not be started: exec: No such file or directory" in log, log)
    mode("ok")
    for bad, why in (("dana garbage\n", f"{command}:1"),
                     (line.replace("dana ", "erin ", 1) + "\n", "printed a line for erin, not dana")):
        prints(bad)
        rc, log, _ = login(extra="nouserok")
        checks.check(f"a bad answer ({why}) is PAM_AUTHINFO_UNAVAIL", rc == PAM_AUTHINFO_UNAVAIL and
                     why in log, log)
    # A malformed answer is never cached: the directory going down now still
    # finds the good one.
    mode("down")
    rc, log, _ = login()
    checks.check("a malformed answer did not replace the cache", rc == PAM_SUCCESS, log)

    # The credential is removed from the directory: the next good answer
    # forgets it, also for later outages.
    mode("ok")
    prints("")
    rc, log, _ = login()
    checks.check("removed from the directory: PAM_USER_UNKNOWN", rc == PAM_USER_UNKNOWN, log)
    mode("down")
    rc, log, _ = login()
    checks.check("... and not back from the cache while the directory is down",
                 rc == PAM_AUTHINFO_UNAVAIL and "no cached answer" in log, log)
    cached = glob.glob(os.path.join(state, "directory", "*.lines"))
    checks.check("an answer without credentials is not cached (and the older one is gone)",
                 not cached, cached)

    # An id both in the files and in the directory is refused.
    mode("ok")
    prints(line + "\n")
    with open(creds, "a") as f:
        f.write(line + "\n")
    rc, log, _ = login()
    checks.check("an id in the files and in the directory: PAM_AUTHINFO_UNAVAIL",
                 rc == PAM_AUTHINFO_UNAVAIL and "refusing its answer" in log, log)
    # ... and so is one enrolled in the central file for somebody else (ids
    # are public: a directory line must not pass for erin's credential).
    with open(creds, "w") as f:
        f.write(line.replace("dana ", "erin ", 1) + "\n")
    rc, log, _ = login()
    checks.check("an id enrolled for another user in the files: PAM_AUTHINFO_UNAVAIL",
                 rc == PAM_AUTHINFO_UNAVAIL and "(for erin); refusing its answer" in log, log)
    with open(creds, "w") as f:
        f.write("# files\n")

    # A program others could change is not run.
    os.chmod(command, 0o775)
    rc, log, _ = login()
    checks.check("a group-writable command is refused", rc == PAM_AUTHINFO_UNAVAIL and
                 "writable by group or others" in log, log)
    os.chmod(command, 0o755)
    # A user name that could pass for an option never reaches the command.
    rc, log, _ = login(user="--config=/tmp/x")
    checks.check("a user name like an option is refused before the command runs",
                 rc == PAM_AUTHINFO_UNAVAIL and "not one to pass" in log, log)

checks.finish()
