"""Helpers shared by the Python end-to-end tests: a check/summary counter and a
swtpm on a unix socket in a given directory, stopped by its PID."""
import os
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


class Swtpm:
    """swtpm with fresh state in `state_dir`; use as a context manager."""

    def __init__(self, state_dir):
        os.makedirs(state_dir, exist_ok=True)
        self.sock = os.path.join(state_dir, "sock")
        self.tcti = f"swtpm:path={self.sock}"
        self.process = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--server", f"type=unixio,path={self.sock}",
             "--ctrl", f"type=unixio,path={self.sock}.ctrl", "--tpmstate", f"dir={state_dir}",
             "--flags", "not-need-init,startup-clear"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
