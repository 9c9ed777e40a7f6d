"""Helpers shared by the Python end-to-end tests: a check/summary counter, a
swtpm on a unix socket in a given directory (stopped by its PID), a private
mount namespace with its own /etc files, and a pseudo-terminal driver."""
import ctypes
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import time


class Checks:
    """Records named checks; finish() prints the failures and the closing line."""

    def __init__(self, verbose=False):
        self.passed = 0
        self.failures = []
        self.verbose = verbose

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            if self.verbose:
                print(f"ok: {name}")
        else:
            self.failures.append(f"{name}: {str(detail)[-2000:]}")

    def finish(self):
        for f in self.failures:
            print("FAIL:", f)
        print(f"{self.passed} passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)


def wait_for_socket(path=None, port=None, seconds=10):
    """Waits until a unix socket (path) or 127.0.0.1:port accepts connections."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if path:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
            else:
                s = socket.create_connection(("127.0.0.1", port), timeout=1)
            s.close()
            return True
        except OSError:
            time.sleep(0.01)
    return False


def _die_with_parent():
    """In the child before exec: SIGTERM when the test process dies, so that a
    test killed by a timeout leaves no swtpm behind (PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Swtpm:
    """swtpm with fresh state in `state_dir`; use as a context manager. With
    `ek_certificates`, swtpm_setup first manufactures the state with EK
    certificates from swtpm_localca, whose CA lands in `ek_ca_dir`
    (swtpm-localca-rootca-cert.pem, issuercert.pem; RECIPES)."""

    def __init__(self, state_dir, ek_certificates=False):
        os.makedirs(state_dir, exist_ok=True)
        self.ek_ca_dir = os.path.join(state_dir, "ek-ca")
        if ek_certificates:
            os.makedirs(self.ek_ca_dir)
            os.makedirs(os.path.join(state_dir, "ek-certs"))
            with open(os.path.join(state_dir, "swtpm-localca.conf"), "w") as f:
                f.write(f"statedir = {self.ek_ca_dir}\nsigningkey = {self.ek_ca_dir}/signkey.pem\n"
                        f"issuercert = {self.ek_ca_dir}/issuercert.pem\n"
                        f"certserial = {self.ek_ca_dir}/certserial\n")
            with open(os.path.join(state_dir, "swtpm_setup.conf"), "w") as f:
                f.write("create_certs_tool = /usr/bin/swtpm_localca\n"
                        f"create_certs_tool_config = {state_dir}/swtpm-localca.conf\n"
                        "create_certs_tool_options = /dev/null\n")
            subprocess.run(["swtpm_setup", "--tpm2", "--tpmstate", state_dir, "--create-ek-cert",
                            "--config", f"{state_dir}/swtpm_setup.conf", "--overwrite",
                            "--write-ek-cert-files", f"{state_dir}/ek-certs"],
                           check=True, capture_output=True, timeout=60)
        self.sock = os.path.join(state_dir, "sock")
        self.tcti = f"swtpm:path={self.sock}"
        self.process = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--server", f"type=unixio,path={self.sock}",
             "--ctrl", f"type=unixio,path={self.sock}.ctrl", "--tpmstate", f"dir={state_dir}",
             "--flags", "not-need-init,startup-clear"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        if not wait_for_socket(path=self.sock):
            self.stop()
            raise RuntimeError("swtpm did not come up")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def pam_wrapper_env(service_dir, preload=(), **extra):
    """The environment of a process that loads libpam through pam_wrapper with
    its service files in `service_dir`. In the sanitizer build the ASan
    runtime must be loaded first ($TPMAUTHN_ASAN_RUNTIME); `preload` goes
    between it and pam_wrapper."""
    libs = [os.environ.get("TPMAUTHN_ASAN_RUNTIME"), *preload, "libpam_wrapper.so"]
    return dict(os.environ, LD_PRELOAD=" ".join(filter(None, libs)), PAM_WRAPPER="1",
                PAM_WRAPPER_SERVICE_DIR=service_dir, PAM_WRAPPER_DISABLE_DEEPBIND="1", **extra)


def direct_service_dir(tmp):
    """A pam.d for `pamtest_runner --direct` (which calls the module itself;
    the service's own stack only has to exist)."""
    directory = os.path.join(tmp, "pam.d")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "tpmauthn-direct"), "w") as f:
        f.write("auth required pam_deny.so\n")
    return directory


def login_paths(tmp, comment):
    """The credentials file (created empty, 0644, root's: what the module
    accepts), key store and counter-state paths of a test under `tmp`."""
    creds, keys, state = (os.path.join(tmp, n) for n in ("credentials", "keys", "state"))
    with open(creds, "w") as f:
        f.write(f"# {comment}\n")
    os.chmod(creds, 0o644)
    return creds, keys, state


def enroll(tpmauthn, tcti, store, credentials, user, rp, pin, uv="pin", counter=None):
    """`tpmauthn enroll` with the PIN on stdin (--pin-fd 0); the finished process.
    `counter`: "tpm" or "file" for --counter (default: the command's)."""
    return subprocess.run([tpmauthn, "--tcti", tcti, "--store", store, "--credentials", credentials,
                           "enroll", user, "--rp-id", rp, "--origin", rp, "--uv", uv,
                           "--pin-fd", "0"] + (["--counter", counter] if counter else []),
                          input=pin + "\n", capture_output=True, text=True, timeout=60)


def tpm_leftover_handles(tcti):
    """How many transient objects and loaded or saved sessions the TPM holds
    (tpm2_getcap); tpmauthn must leave none after any operation."""
    count = 0
    for capability in ("handles-transient", "handles-loaded-session", "handles-saved-session"):
        p = subprocess.run(["tpm2_getcap", "-T", tcti, capability], capture_output=True, text=True,
                           timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"tpm2_getcap {capability}: {p.stderr.strip()}")
        count += sum(1 for line in p.stdout.splitlines() if line.startswith("- 0x"))
    return count


def require_root_and_tools(why_root, tools):
    """Exits 77 (skipped) when not root; exits 1 when a required tool is missing."""
    if os.geteuid() != 0:
        print(f"skipped: needs root ({why_root})")
        sys.exit(77)
    for tool in tools:
        if not shutil.which(tool) and not os.path.exists(tool):
            print(f"FAIL: {tool} is not installed (scripts/install-deps.sh installs it)")
            sys.exit(1)


def write_private_etc(directory, users):
    """Copies the host's passwd and group into `directory` and appends `users`
    (a list of (name, uid, home)), each with a group of the same name and id."""
    shutil.copy("/etc/passwd", os.path.join(directory, "passwd"))
    shutil.copy("/etc/group", os.path.join(directory, "group"))
    with open(os.path.join(directory, "passwd"), "a") as f:
        for name, uid, home in users:
            f.write(f"{name}:x:{uid}:{uid}::{home}:/bin/sh\n")
    with open(os.path.join(directory, "group"), "a") as f:
        for name, uid, _ in users:
            f.write(f"{name}:x:{uid}:\n")


def write_stack(pamd, service, auth_line):
    """/etc/pam.d-style service file: `auth_line`, then permit for account and
    session, deny for password."""
    with open(os.path.join(pamd, service), "w") as f:
        f.write(f"{auth_line}\naccount required pam_permit.so\n"
                "session required pam_permit.so\npassword required pam_deny.so\n")


def write_sudoers(directory, user):
    """A sudoers for tests: no lecture, no timestamps, one try; root and
    `user` may run anything."""
    path = os.path.join(directory, "sudoers")
    with open(path, "w") as f:
        f.write("Defaults !lecture, timestamp_timeout=0, passwd_tries=1, !fqdn\n"
                f"root ALL=(ALL:ALL) ALL\n{user} ALL=(ALL:ALL) ALL\n")
    os.chmod(path, 0o440)


def namespace_argv(binds, command, cwd=None, prepare=()):
    """argv that runs `command` in a private mount namespace (unshare -m; mount
    changes never propagate out) where each (source, target) in `binds` is
    bind-mounted and tmpfs hides /run and /var/log, so utmp, wtmp, lastlog and
    sudo timestamps stay in the namespace. The shell that mounts exec's
    `command` (util-linux 2.41's login calls vhangup(), which a shell parent
    on the same terminal would not survive), in `cwd` if given: a program run
    as another user must not start in a directory it cannot enter. `prepare`
    are shell commands run first, inside the namespace."""
    mounts = [f"mount --bind {source} {target}" for source, target in binds]
    mounts += ["mount -t tmpfs -o mode=755 tmpfs /run", "mount -t tmpfs -o mode=755 tmpfs /var/log"]
    mounts += list(prepare)
    if cwd:
        mounts.append(f"cd {cwd}")
    return ["unshare", "-m", "sh", "-c", " && ".join(mounts + [f"exec {command}"])]


def run_pty(argv, answers, env=None, timeout=30):
    """Runs argv on a pseudo-terminal; when the screen shows the next prompt of
    `answers` (a list of (expected_text, reply)), types the reply. Returns the
    screen text once the program exits or `timeout` seconds pass (then it is
    killed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env if env is not None else os.environ)
    screen, pending, deadline = b"", list(answers), time.time() + timeout
    reaped = False
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                # EIO: no process has the terminal open right now. That is the
                # end once the program has exited; before that it is a pause
                # (login's vhangup() closes and reopens its terminal).
                if os.waitpid(pid, os.WNOHANG)[0]:
                    reaped = True
                    break
                time.sleep(0.01)
                continue
            if not data:
                break
            screen += data
        if pending and pending[0][0].encode() in screen:
            os.write(fd, (pending.pop(0)[1] + "\n").encode())
    if not reaped:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    os.close(fd)
    return screen.decode(errors="replace")
