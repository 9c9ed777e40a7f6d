#!/usr/bin/env python3
"""tpmauthn-helper: PAM run as the user (screen lockers) unlocks with the TPM PIN
through the setuid helper, and every trust rule of the helper holds.

The test re-executes itself in private mount and network namespaces
(unshare -m -n; only loopback is up). There a
tmpfs holds setuid copies of the helper (and one on a nosuid tmpfs); /etc and
/var/lib become overlays whose upper layers are on a tmpfs, so that
/etc/tpmauthn and /var/lib/tpmauthn can exist there, and temp dirs are
bind-mounted over both; passwd and group are private copies with two test
users; tmpfs hides /tmp, /run and /var/log. The helper runs unchanged (it has
no test-only path). swtpm runs on a unix socket in the temp dir and is stopped
by PID. Nothing outside the temp dir changes.

Consumers: pamtester under pam_wrapper, run as a test user, and i3lock under
Xvfb (on a loopback TCP port) with the PIN typed by xdotool. The protocol and
trust-rule cases speak to the helper directly over a socket.

usage: helper_test.py TPMAUTHN PAM_MODULE HELPER PAMTEST_RUNNER   (as root; 77 = skipped)
"""
import ctypes
import glob
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import (Checks, Swtpm, direct_service_dir, pam_wrapper_env,  # noqa: E402
                     require_root_and_tools, write_private_etc, write_stack)
from tpm_proxy import read_exact  # noqa: E402

TOOLS = ("unshare", "mount", "ip", "setpriv", "swtpm", "pamtester", "Xvfb", "xdotool", "i3lock")
if "--inside" not in sys.argv:
    require_root_and_tools("mount namespaces and setuid copies", TOOLS)
    # A network namespace of its own too: Xvfb's TCP port and abstract socket
    # cannot meet another X server's.
    os.execvp("unshare", ["unshare", "-m", "-n", "--propagation", "private", sys.executable,
                          os.path.abspath(__file__), *sys.argv[1:], "--inside"])

tpmauthn, module, helper_build, runner = (os.path.abspath(a) for a in sys.argv[1:5])
checks = Checks(verbose=True)
check = checks.check

ALICE, ALICE_UID, ALICE_PIN = "alice", 4301, "471130"
BOB, BOB_UID, BOB_PIN = "bob", 4302, "369024"
RP = "pam://helper-test"
# Frame types (pam_module/helper_protocol.h).
REQUEST, ANSWER, NO_ANSWER = 1, 2, 3
PROMPT_SECRET, PROMPT_TEXT, INFO, ERROR, RESULT = 16, 17, 18, 19, 20
OUTCOMES = ["success", "user unknown", "auth error", "max tries", "unavailable"]


def sh(*argv):
    subprocess.run(argv, check=True)


def frame(kind, payload=b""):
    return struct.pack(">BH", kind, len(payload)) + payload


def read_frame(sock, timeout=60):
    """(type, payload), or None at end of input (or a reset: the peer closed
    with our bytes unread)."""
    try:
        return _read_frame(sock, timeout)
    except ConnectionResetError:
        return None


def _read_frame(sock, timeout):
    sock.settimeout(timeout)
    header = read_exact(sock, 3)
    if header is None:
        return None
    kind, length = struct.unpack(">BH", header)
    payload = read_exact(sock, length) if length else b""
    return None if payload is None else (kind, payload)


def request(user):
    return frame(REQUEST, b"\x01" + user.encode())


class Helper:
    """The helper at `path` run as `uid` (real uid; the setuid bit makes it
    root) with a socket on its standard input, as the module runs it."""

    def __init__(self, path, uid, env=None, argv0="tpmauthn-helper", extra_args=(), **popen):
        self.sock, theirs = socket.socketpair()
        self.process = subprocess.Popen([argv0, *extra_args], executable=path, stdin=theirs,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        env=env or {}, user=uid, group=uid, extra_groups=[],
                                        cwd="/", **popen)
        theirs.close()

    def send(self, data):
        """Sends; a helper that already refused and exited is not an error
        here (what it answered, if anything, is read next)."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def read(self, timeout=60):
        return read_frame(self.sock, timeout)

    def converse(self, user, answers):
        """Sends the request, answers each secret prompt with the next of
        `answers`; returns (outcome name or None, frames seen)."""
        self.send(request(user))
        pending, seen = list(answers), []
        while True:
            f = self.read()
            if f is None:
                return None, seen
            seen.append(f)
            if f[0] == PROMPT_SECRET:
                self.send(frame(ANSWER, pending.pop(0).encode()) if pending else frame(NO_ANSWER))
            elif f[0] == RESULT:
                return OUTCOMES[f[1][0]], seen

    def finish(self):
        self.sock.close()
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, err.decode(errors="replace")


def spawn_with_empty_argv(path, uid, sock):
    """execve(path, {NULL}, {NULL}) as `uid`, standard input `sock`: argc 0."""
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(sock.fileno(), 0)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            libc = ctypes.CDLL(None, use_errno=True)
            argv = (ctypes.c_char_p * 1)(None)
            envp = (ctypes.c_char_p * 1)(None)
            libc.execve(path.encode(), argv, envp)
        finally:
            os._exit(127)
    return pid


def counters():
    """Every stored sign counter (config/counter_store.cc files)."""
    out = {}
    state = "/var/lib/tpmauthn/state"
    for name in os.listdir(state):
        path = os.path.join(state, name)
        if os.path.isfile(path):
            text = open(path, "rb").read()
            if text.startswith(b"tpmauthn-counter 1 "):
                out[name] = int(text.split(b" ")[2])
    return out


tmp = tempfile.mkdtemp(prefix="tpmauthn-helper-", dir="/var/tmp")
os.chmod(tmp, 0o755)
swtpm = None
try:
    # --- the namespace: loopback, setuid copies, overlays, private users ------
    sh("ip", "link", "set", "lo", "up")
    # /tmp is hidden below (and the build tree may be in it): copies of the
    # programs under test, which have no build-tree dependencies.
    os.mkdir(f"{tmp}/bin")
    for name in ("tpmauthn", "module", "helper_build", "runner"):
        copy = f"{tmp}/bin/{os.path.basename(globals()[name])}"
        shutil.copy2(globals()[name], copy)
        globals()[name] = copy
    for d in ("ov", "suid", "nosuid", "etc-tpmauthn", "var-tpmauthn", "pam.d", "tpm", "rootonly",
              "home"):
        os.mkdir(os.path.join(tmp, d))
    os.chmod(f"{tmp}/bin", 0o755)
    os.chmod(os.path.join(tmp, "rootonly"), 0o700)
    os.chmod(os.path.join(tmp, "home"), 0o755)
    sh("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", f"{tmp}/ov")
    sh("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", f"{tmp}/suid")
    sh("mount", "-t", "tmpfs", "-o", "mode=755,nosuid", "tmpfs", f"{tmp}/nosuid")
    helper = f"{tmp}/suid/tpmauthn-helper"
    helper_plain = f"{tmp}/suid/tpmauthn-helper-not-setuid"
    helper_nosuid = f"{tmp}/nosuid/tpmauthn-helper"
    sh("install", "-o", "root", "-g", "root", "-m", "4755", helper_build, helper)
    sh("install", "-o", "root", "-g", "root", "-m", "0755", helper_build, helper_plain)
    sh("install", "-o", "root", "-g", "root", "-m", "4755", helper_build, helper_nosuid)
    for top, name in (("/etc", "etc"), ("/var/lib", "var")):
        os.makedirs(f"{tmp}/ov/{name}-up")
        os.makedirs(f"{tmp}/ov/{name}-work")
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir={top},upperdir={tmp}/ov/{name}-up,workdir={tmp}/ov/{name}-work", top)
    os.makedirs("/etc/tpmauthn", exist_ok=True)
    os.makedirs("/var/lib/tpmauthn", exist_ok=True)
    sh("mount", "--bind", f"{tmp}/etc-tpmauthn", "/etc/tpmauthn")
    sh("mount", "--bind", f"{tmp}/var-tpmauthn", "/var/lib/tpmauthn")
    os.chmod("/var/lib/tpmauthn", 0o700)
    write_private_etc(tmp, [(ALICE, ALICE_UID, f"{tmp}/home"), (BOB, BOB_UID, f"{tmp}/home")])
    sh("mount", "--bind", f"{tmp}/passwd", "/etc/passwd")
    sh("mount", "--bind", f"{tmp}/group", "/etc/group")
    for d in ("/tmp", "/run", "/var/log"):
        sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", d)

    swtpm = Swtpm(f"{tmp}/tpm")
    TCTI = swtpm.tcti
    # max_tries=2: a wrong PIN shows the tries left and asks once more.
    with open("/etc/tpmauthn/tpmauthn.conf", "w") as f:
        f.write(f"tcti={TCTI}\nrp_id={RP}\norigin={RP}\nmax_tries=2\n")
    os.chmod("/etc/tpmauthn/tpmauthn.conf", 0o644)
    with open("/etc/tpmauthn/credentials", "w") as f:
        f.write("# helper test\n")
    os.chmod("/etc/tpmauthn/credentials", 0o644)
    for user, pin in ((ALICE, ALICE_PIN), (BOB, BOB_PIN)):
        p = subprocess.run(["sh", "-c", 'exec "$@" 3<&0', "sh", tpmauthn, "--tcti", TCTI,
                            "enroll", user, "--label", f"{user}'s key", "--rp-id", RP,
                            "--origin", RP, "--pin-fd", "3"],
                           input=pin + "\n", capture_output=True, text=True)
        check(f"enroll {user} (system paths in the namespace)", p.returncode == 0, p.stderr)

    def status_tries(user):
        p = subprocess.run([tpmauthn, "--tcti", TCTI, "status", "--json"], capture_output=True,
                           text=True)
        return [c.get("triesLeft") for c in json.loads(p.stdout).get("credentials", [])
                if c.get("user") == user]

    pamd = f"{tmp}/pam.d"

    def locker_stack(helper_path=helper, extra=""):
        write_stack(pamd, "locker", f"auth required {module} helper={helper_path} {extra}")

    def pamtester(uid, user, pin, **extra_env):
        """pamtester run as `uid` for `user`: one line of input, then end of
        input (a second prompt gets no answer)."""
        env = pam_wrapper_env(pamd, **extra_env)
        env["HOME"] = f"{tmp}/home"
        # Each in a /tmp of its own: pam_wrapper's start-up makes /tmp/pam.X with
        # X from 36 letters and fails when processes starting at once collide.
        p = subprocess.run(["unshare", "-m", "sh", "-c",
                            'mount -t tmpfs -o mode=1777 tmpfs /tmp && exec "$@"', "sh",
                            "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                            "pamtester", "-v", "locker", user, "authenticate"],
                           input=pin + "\n", capture_output=True, text=True, env=env, cwd="/",
                           timeout=120)
        return p.returncode, p.stdout + p.stderr

    # --- (a) pamtester as the user, under pam_wrapper --------------------------
    locker_stack()
    rc, out = pamtester(ALICE_UID, ALICE, ALICE_PIN)
    check("a user-run PAM caller unlocks with the right PIN through the helper",
          rc == 0 and "successfully authenticated" in out, out)
    check("... and showed the credential's PIN prompt", "PIN for alice's key" in out, out)
    rc, out = pamtester(ALICE_UID, ALICE, "000111")
    check("a wrong PIN is refused (PAM_AUTH_ERR)",
          rc != 0 and "successfully" not in out and "Authentication failure" in out, out)
    check("... and the helper relayed the tries left", "tries left" in out, out)
    c0 = counters()
    rc, out = pamtester(BOB_UID, BOB, BOB_PIN)
    check("a second user unlocks with their own PIN", rc == 0, out)
    check("the helper stored the counter in the system state directory",
          len(counters()) == 2 and all(v > 0 for v in counters().values()), (c0, counters()))

    # Caller rule: alice asks for bob, even with bob's right PIN.
    before = status_tries(BOB)
    rc, out = pamtester(ALICE_UID, BOB, BOB_PIN)
    check("a user asking for another user is refused (PAM_AUTHINFO_UNAVAIL)",
          rc != 0 and "Authentication service cannot retrieve authentication info" in out
          and "PIN for" not in out, out)
    check("... and the other user's tries are untouched", status_tries(BOB) == before,
          (before, status_tries(BOB)))
    h = Helper(helper, ALICE_UID)
    outcome, seen = h.converse(BOB, [BOB_PIN])
    h.finish()
    check("the helper itself refuses a request for another user's name without a prompt",
          outcome == "unavailable" and not any(f[0] == PROMPT_SECRET for f in seen), seen)
    # Root may name anyone.
    h = Helper(helper, 0)
    outcome, _ = h.converse(BOB, [BOB_PIN])
    h.finish()
    check("root may ask for any user", outcome == "success", outcome)

    # Not running as root: no setuid bit, or a nosuid mount.
    for path, why in ((helper_plain, "without the setuid bit"), (helper_nosuid, "on nosuid")):
        locker_stack(helper_path=path)
        rc, out = pamtester(ALICE_UID, ALICE, ALICE_PIN)
        check(f"a helper {why} fails closed with PAM_AUTHINFO_UNAVAIL",
              rc != 0 and "Authentication service cannot retrieve authentication info" in out
              and "PIN for" not in out, out)
    locker_stack(helper_path=f"{tmp}/suid/missing")
    rc, out = pamtester(ALICE_UID, ALICE, ALICE_PIN)
    check("a missing helper is PAM_AUTHINFO_UNAVAIL",
          rc != 0 and "Authentication service cannot retrieve authentication info" in out, out)

    # The module's arguments are not the helper's: a store= or credentials= the
    # caller names is ignored (the helper reads only the system paths).
    os.makedirs(f"{tmp}/home/fake", exist_ok=True)
    with open(f"{tmp}/home/fake/credentials", "w") as f:
        f.write("")
    locker_stack(extra=f"credentials={tmp}/home/fake/credentials store={tmp}/home/fake nouserok")
    rc, out = pamtester(ALICE_UID, ALICE, ALICE_PIN)
    check("the caller's module arguments do not steer the helper (system files used)",
          rc == 0 and "successfully authenticated" in out, out)
    locker_stack()

    # --- try_first_pass / use_first_pass: the PIN from PAM_AUTHTOK -----------------
    # pam_wrapper's pam_set_items sets PAM_AUTHTOK from the environment, as
    # swaylock's or an earlier module's collected secret would be.
    set_items = glob.glob("/usr/lib/*/pam_wrapper/pam_set_items.so")[0]
    for uid, where in ((ALICE_UID, "through the helper"), (0, "in-process (root)")):
        write_stack(pamd, "locker", f"auth required {set_items}\n"
                                    f"auth required {module} helper={helper} use_first_pass")
        rc, out = pamtester(uid, ALICE, "", PAM_AUTHTOK=ALICE_PIN)
        check(f"use_first_pass {where}: PAM_AUTHTOK unlocks without a prompt",
              rc == 0 and "PIN for" not in out, out)
        rc, out = pamtester(uid, ALICE, ALICE_PIN)
        check(f"use_first_pass {where}: no PAM_AUTHTOK, no prompt, refused",
              rc != 0 and "PIN for" not in out, out)
        write_stack(pamd, "locker", f"auth required {set_items}\n"
                                    f"auth required {module} helper={helper} try_first_pass")
        rc, out = pamtester(uid, ALICE, ALICE_PIN, PAM_AUTHTOK="000333")
        check(f"try_first_pass {where}: a wrong PAM_AUTHTOK, then the PIN asked and typed",
              rc == 0 and "PIN for" in out and "Wrong PIN" in out, out)
        rc, out = pamtester(uid, ALICE, ALICE_PIN, PAM_AUTHTOK="")
        check(f"try_first_pass {where}: an empty PAM_AUTHTOK is none, the PIN is asked",
              rc == 0 and "PIN for" in out and "Wrong PIN" not in out, out)
    locker_stack()

    # --- a conversation that refuses messages (cinnamon-screensaver fails
    # PAM_TEXT_INFO): not fatal. A wrong PIN's error line is refused, the
    # second PIN is asked anyway and unlocks.
    direct_service_dir(tmp)  # the same pam.d
    for uid, where in ((ALICE_UID, "through the helper"), (0, "in-process (root)")):
        env = pam_wrapper_env(pamd, TPMAUTHN_TEST_REFUSE_MESSAGES="1")
        p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                            runner, "--direct", module, f"helper={helper} cue", ALICE,
                            "000444", ALICE_PIN],
                           capture_output=True, text=True, env=env, cwd="/", timeout=120)
        check(f"messages refused by the conversation {where}: the next PIN still unlocks",
              "result 0" in p.stdout and "refused Wrong PIN" in p.stdout, p.stdout + p.stderr)

    # --- protocol: argc, bounds, truncation -----------------------------------
    a, b = socket.socketpair()
    a.sendall(request(ALICE))
    pid = spawn_with_empty_argv(helper, ALICE_UID, b)
    b.close()
    try:
        got = read_frame(a, 10)
    except socket.timeout:
        got = "no answer within 10 s"
    a.close()
    _, status = os.waitpid(pid, 0)
    # Linux >= 5.18 turns an empty argv into {""}: argc 1 with an empty name.
    check("argc 0: the helper refuses before reading anything (exit 2, no frame)",
          os.WEXITSTATUS(status) == 2 and got is None, (status, got))
    h = Helper(helper, ALICE_UID, extra_args=["--user", "bob"])
    h.send(request(ALICE))
    got = h.read(10)
    rc, err = h.finish()
    check("extra arguments: refused with a usage line, nothing served",
          rc == 2 and got is None and "not by hand" in err, (rc, got, err))

    def one_shot(data, then_close=True):
        h = Helper(helper, ALICE_UID)
        h.send(data)
        if then_close:
            try:
                h.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        frames = []
        while (f := h.read()) is not None:
            frames.append(f)
        h.finish()
        return frames

    frames = one_shot(struct.pack(">BH", REQUEST, 0xffff) + b"\x01alice" + b"x" * 600)
    check("an oversized request is refused (unavailable, no prompt)",
          frames == [(RESULT, bytes([4]))], frames)
    frames = one_shot(struct.pack(">BH", REQUEST, 10) + b"\x01ali")
    check("a truncated request is refused", frames == [(RESULT, bytes([4]))], frames)
    frames = one_shot(frame(PROMPT_SECRET, b"x"))
    check("a frame of the wrong direction is refused", frames == [(RESULT, bytes([4]))], frames)
    frames = one_shot(frame(REQUEST, b"\x02alice"))
    check("an unknown protocol version is refused", frames == [(RESULT, bytes([4]))], frames)
    before = status_tries(ALICE)
    h = Helper(helper, ALICE_UID)
    h.send(request(ALICE))
    first = h.read()
    h.send(struct.pack(">BH", ANSWER, 129) + b"4" * 129)
    rest = h.read()
    rc, _ = h.finish()
    check("an answer longer than the PIN maximum is refused, the TPM not asked",
          first and first[0] == PROMPT_SECRET and rest is None and rc != 0
          and status_tries(ALICE) == before, (first, rest, rc))

    # --- environment: tpm2-tss's log file ---------------------------------------
    log = f"{tmp}/rootonly/tss2.log"
    h = Helper(helper, ALICE_UID, env={"TSS2_LOG": "all+TRACE", "TSS2_LOGFILE": log,
                                       "TCTI_PCAP_FILE": f"{tmp}/rootonly/pcap"})
    outcome, _ = h.converse(ALICE, [ALICE_PIN])
    h.finish()
    check("TSS2_LOGFILE/TSS2_LOG from the caller: login works, no file created",
          outcome == "success" and not os.path.exists(log)
          and not os.path.exists(f"{tmp}/rootonly/pcap"), (outcome, os.listdir(f"{tmp}/rootonly")))

    # --- descriptors and umask: a caller that leaks a descriptor, closes 1 and 2
    # and sets umask 0. Seen in /proc while the helper waits at its prompt.
    leaked_r, leaked_w = os.pipe()

    def close_stdout_and_stderr():
        os.close(1)
        os.close(2)

    h = Helper(helper, ALICE_UID, pass_fds=(leaked_r,), umask=0,
               preexec_fn=close_stdout_and_stderr)
    h.send(request(ALICE))
    prompt = h.read()
    proc = f"/proc/{h.process.pid}"
    fds = {int(n): os.readlink(f"{proc}/fd/{n}") for n in os.listdir(f"{proc}/fd")}
    umask = [line.strip() for line in open(f"{proc}/status") if line.startswith("Umask:")]
    h.send(frame(NO_ANSWER))
    while (f := h.read()) and f[0] != RESULT:
        if f[0] == PROMPT_SECRET:
            h.send(frame(NO_ANSWER))
    h.finish()
    leaked = f"pipe:[{os.fstat(leaked_r).st_ino}]"
    os.close(leaked_r)
    os.close(leaked_w)
    check("an inherited descriptor is closed, closed 1 and 2 are reopened on /dev/null",
          prompt and prompt[0] == PROMPT_SECRET and leaked not in fds.values()
          and fds.get(1) == "/dev/null" and fds.get(2) == "/dev/null", fds)
    check("the helper's umask is 077 whatever the caller's", umask == ["Umask:\t0077"], umask)

    # --- per-user failure delay -------------------------------------------------
    started = time.monotonic()
    h = Helper(helper, ALICE_UID)
    h.converse(ALICE, ["999111"])
    h.finish()
    h = Helper(helper, ALICE_UID)
    outcome, _ = h.converse(ALICE, ["999112"])
    elapsed = time.monotonic() - started
    h.finish()
    check("a user's next PIN reaches the TPM only 2 s after their last wrong one",
          outcome == "auth error" and elapsed >= 2.0, (outcome, elapsed))
    rc, out = pamtester(ALICE_UID, ALICE, ALICE_PIN)
    check("... and the right PIN afterwards unlocks", rc == 0, out)

    # --- killed mid-login ---------------------------------------------------------
    before = counters()
    for stage in ("after the request", "after the PIN", "after the PIN, a moment later"):
        h = Helper(helper, ALICE_UID)
        h.send(request(ALICE))
        if stage != "after the request":
            h.read()
            h.send(frame(ANSWER, ALICE_PIN.encode()))
            if stage.endswith("later"):
                time.sleep(0.05)  # only varies where the kill lands; nothing waits on it
        else:
            h.read()
        h.process.kill()
        h.finish()
    after = counters()
    check("a helper killed mid-login rolls no counter back",
          all(after.get(k, 0) >= v for k, v in before.items()), (before, after))
    rc, out = pamtester(ALICE_UID, ALICE, ALICE_PIN)
    check("... and the next login works", rc == 0, out)

    # --- 20 concurrent unlocks by two users -----------------------------------------
    results = []

    def unlock(uid, user, pin):
        results.append(pamtester(uid, user, pin))

    threads = [threading.Thread(target=unlock, args=(ALICE_UID, ALICE, ALICE_PIN) if i % 2 else
                                (BOB_UID, BOB, BOB_PIN)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [out for rc, out in results if rc != 0]
    check("20 concurrent unlocks by two users all succeed", len(results) == 20 and not failed,
          failed[:2])

    # --- (b) i3lock under Xvfb, the PIN typed by xdotool -----------------------------
    write_stack(pamd, "i3lock", f"auth required {module} helper={helper}")
    xenv = pam_wrapper_env(pamd)
    xenv.update(HOME=f"{tmp}/home", DISPLAY="127.0.0.1:57")
    xvfb = subprocess.Popen(["Xvfb", ":57", "-nolisten", "unix", "-listen", "tcp", "-ac",
                             "-screen", "0", "640x480x24", "-displayfd", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready = xvfb.stdout.readline().strip()
        check("Xvfb is up (it wrote its display number)", ready == b"57", ready)
        as_alice = ["setpriv", f"--reuid={ALICE_UID}", f"--regid={ALICE_UID}", "--clear-groups"]
        i3 = subprocess.Popen(as_alice + ["i3lock", "-n", "-c", "000000"], env=xenv, cwd="/",
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # i3lock is ready once its window is mapped (it grabs the keyboard first).
            p = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--class",
                                "i3lock"], env=xenv, capture_output=True, text=True, timeout=30)
            check("i3lock locked the screen", p.returncode == 0 and p.stdout.strip(), p.stderr)
            before = status_tries(ALICE)
            subprocess.run(["xdotool", "type", "--delay", "30", "000222"], env=xenv, check=True)
            subprocess.run(["xdotool", "key", "Return"], env=xenv, check=True)
            deadline = time.monotonic() + 60
            while status_tries(ALICE) == before and time.monotonic() < deadline:
                time.sleep(0.2)  # polls the TPM's own count; the test waits on that event
            check("i3lock: a wrong PIN reached the TPM (one try spent)",
                  status_tries(ALICE) != before, (before, status_tries(ALICE)))
            check("i3lock: a wrong PIN does not unlock", i3.poll() is None, i3.poll())
            subprocess.run(["xdotool", "type", "--delay", "30", ALICE_PIN], env=xenv, check=True)
            subprocess.run(["xdotool", "key", "Return"], env=xenv, check=True)
            try:
                rc = i3.wait(timeout=60)
            except subprocess.TimeoutExpired:
                rc = None
            check("i3lock: the right PIN unlocks (i3lock exits 0)", rc == 0,
                  (rc, i3.stderr.read().decode(errors="replace") if rc is not None else ""))
        finally:
            if i3.poll() is None:
                i3.kill()
                i3.wait()
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
finally:
    if swtpm:
        swtpm.stop()
    # The tmpfs mounts under the temp dir go first, so that it can be removed
    # (the namespace and its other mounts end with this process).
    for d in ("ov", "suid", "nosuid"):
        subprocess.run(["umount", "-l", f"{tmp}/{d}"], stderr=subprocess.DEVNULL)
    shutil.rmtree(tmp, ignore_errors=True)

checks.finish()
