#!/usr/bin/env python3
"""PIN entry on a terminal, as a fast typist and an impatient user meet it.

`tpmauthn enroll` and `tpmauthn assert` run on a pseudo-terminal against a
swtpm this script starts (and stops by its PID):
- the PIN is typed the instant the prompt appears, also with every ioctl(2)
  of the program slowed down by strace (the terminal calls): it is never
  echoed and never thrown away, every time;
- Ctrl-C at the prompt leaves the terminal with echo on, and the program
  dies of SIGINT;
- SIGTSTP at the prompt restores the terminal and the prompt is asked again.

usage: pin_entry_test.py TPMAUTHN
"""
import base64
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, Swtpm  # noqa: E402

tpmauthn = os.path.abspath(sys.argv[1])
checks = Checks(verbose=True)
check = checks.check
PIN = "739164"
RP = "pam://pin-entry"
ROUNDS = 10


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Terminal:
    """A program on a pseudo-terminal; the test reads its screen and types."""

    def __init__(self, argv):
        env = dict(os.environ)
        if argv[0] == shutil.which("strace"):
            # LeakSanitizer cannot work under ptrace (sanitizer build).
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                         "detect_leaks=0"]))
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        self.screen = b""
        self.status = None

    def wait_for(self, text, seconds=20, times=1):
        """Waits until `text` has appeared `times` times on the screen."""
        deadline = time.time() + seconds
        while self.screen.count(text.encode()) < times and time.time() < deadline:
            if not self._read(deadline - time.time()):
                break
        return self.screen.count(text.encode()) >= times

    def type(self, data):
        os.write(self.fd, data)

    def _read(self, seconds):
        r, _, _ = select.select([self.fd], [], [], max(seconds, 0))
        if not r:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            return False
        self.screen += data
        return bool(data)

    def echo_on(self):
        return bool(termios.tcgetattr(self.fd)[3] & termios.ECHO)

    def exited(self):
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is not None

    def finish(self, seconds=20):
        """Reads until the program exits; returns its wait status."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.exited():
                break
            self._read(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
            _, self.status = os.waitpid(self.pid, 0)
        while self._read(0):
            pass
        os.close(self.fd)
        return self.status


with tempfile.TemporaryDirectory() as tmp:
    swtpm = Swtpm(os.path.join(tmp, "tpm"))
    try:
        base = [tpmauthn, "--tcti", swtpm.tcti, "--store", os.path.join(tmp, "keys"),
                "--credentials", os.path.join(tmp, "credentials")]
        strace = shutil.which("strace")
        check("strace is installed (scripts/install-deps.sh)", strace is not None)
        # 200 ms at the entry of every ioctl: tcgetattr/tcsetattr are ioctls.
        slowed = [strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=ioctl",
                  "-e", "inject=ioctl:delay_enter=200000"] if strace else []

        # The credential the assert cases use, enrolled by descriptor.
        p = subprocess.run(base + ["enroll", "typist", "--rp-id", RP, "--origin", RP,
                                   "--pin-fd", "0"], input=PIN + "\n", capture_output=True,
                           text=True, timeout=60)
        check("setup: enroll with --pin-fd", p.returncode == 0, p.stderr)

        # Enroll on the terminal: two prompts, each answered at once.
        t = Terminal(slowed + [tpmauthn, "--tcti", swtpm.tcti, "--store", os.path.join(tmp, "keys2"),
                               "--credentials", os.path.join(tmp, "credentials2"), "enroll",
                               "typist2", "--rp-id", RP, "--origin", RP])
        first = t.wait_for("New PIN")
        if first:
            t.type((PIN + "\n").encode())
        second = t.wait_for("Repeat the PIN")
        if second:
            t.type((PIN + "\n").encode())
        status = t.finish()
        check("enroll, PIN typed at once at both prompts (terminal calls slowed): enrolled",
              first and second and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
              t.screen.decode(errors="replace"))
        check("... and the PIN was never echoed", PIN.encode() not in t.screen,
              t.screen.decode(errors="replace"))

        def assert_argv():
            return base + ["assert", "--rp-id", RP, "--origin", RP, "--challenge",
                           b64(os.urandom(32))]

        for plain_or_slowed, prefix in (("", []), ("terminal calls slowed, ", slowed)):
            good = 0
            screens = []
            for _ in range(ROUNDS):
                t = Terminal(prefix + assert_argv())
                if t.wait_for("PIN for"):
                    t.type((PIN + "\n").encode())
                status = t.finish()
                if (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
                        and PIN.encode() not in t.screen and b'"signature"' in t.screen):
                    good += 1
                else:
                    screens.append(t.screen.decode(errors="replace"))
            check(f"assert, PIN typed the instant the prompt appears ({plain_or_slowed}"
                  f"{ROUNDS} times): signed every time, PIN never echoed", good == ROUNDS,
                  screens[:2])

        # Ctrl-C at the prompt: echo back on, the program dies of SIGINT.
        t = Terminal(assert_argv())
        prompted = t.wait_for("PIN for")
        echo_during = t.echo_on()
        t.type(b"\x03")
        status = t.finish()
        # (tcgetattr on the master side reads the terminal's settings)
        check("control: echo is off while the PIN is asked", prompted and not echo_during)
        check("Ctrl-C at the prompt: the program dies of SIGINT",
              os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT, status)

        t = Terminal(assert_argv())
        t.wait_for("PIN for")
        t.type(b"\x03")
        deadline = time.time() + 10
        while time.time() < deadline and not t.exited():
            time.sleep(0.02)
        check("... and leaves the terminal with echo on", t.echo_on())
        t.finish()

        # SIGTSTP at the prompt (a stop the terminal would send for ^Z): the
        # terminal is restored and, the stop over, the prompt is asked again.
        t = Terminal(assert_argv())
        t.wait_for("PIN for")
        os.kill(t.pid, signal.SIGTSTP)
        time.sleep(0.2)
        os.kill(t.pid, signal.SIGCONT)
        again = t.wait_for("PIN for", times=2)
        if again:
            t.type((PIN + "\n").encode())
        status = t.finish()
        check("SIGTSTP at the prompt: asked again, and the PIN then signs",
              again and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
              t.screen.decode(errors="replace"))
    finally:
        swtpm.stop()

checks.finish()
