"""A fault-injecting proxy between a TPM client and swtpm.

tcti-swtpm opens one data connection per TPM command (and a control
connection), so the proxy sees each command whole: it listens at DIR/sock and
DIR/sock.ctrl, forwards to the real swtpm, records every command code, and can
make the n-th command (1-based, counted from arm()) go wrong:

  "refuse"  answer with response code `rc` without passing the command on
            (the TPM refuses it: TPM_RC_FAILURE, _OBJECT_MEMORY, ...);
  "lose"    pass the command on but answer `rc` instead of the TPM's answer
            (the command ran; its response was lost);
  "kill"    SIGKILL swtpm before passing the command on, and hang up.
"""
import os
import socket
import struct
import threading

COMMAND_NAMES = {
    0x120: "EvictControl", 0x131: "CreatePrimary", 0x144: "Startup", 0x153: "Create",
    0x157: "Load", 0x15D: "Sign", 0x165: "FlushContext", 0x16B: "PolicyAuthValue",
    0x173: "ReadPublic", 0x176: "StartAuthSession", 0x17A: "GetCapability",
    0x17F: "PolicyPCR", 0x189: "PolicyGetDigest",
}
TPM_RC_FAILURE = 0x101
TPM_RC_OBJECT_MEMORY = 0x902
TPM_RC_SESSION_MEMORY = 0x903


def command_name(code):
    return COMMAND_NAMES.get(code, f"0x{code:x}")


def read_exact(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_message(conn):
    """One TPM command or response: tag(2) size(4) code(4) body."""
    header = read_exact(conn, 10)
    if header is None:
        return None
    size = struct.unpack(">I", header[2:6])[0]
    rest = read_exact(conn, size - 10) if size > 10 else b""
    return None if rest is None else header + rest


class TpmProxy:
    def __init__(self, directory, target_sock, swtpm_process_of):
        """`swtpm_process_of()` returns the swtpm Popen to kill for "kill"."""
        os.makedirs(directory, exist_ok=True)
        self.sock = os.path.join(directory, "sock")
        self.tcti = f"swtpm:path={self.sock}"
        self.target = target_sock
        self.swtpm_process_of = swtpm_process_of
        self.commands = []
        self.responses = []  # the TPM's response codes, in order
        self.fault = None  # (n, action, rc)
        self.fired = None  # the command code the fault hit
        self.lock = threading.Lock()
        self.listeners = []
        for path, handler in ((self.sock, self._serve_data), (self.sock + ".ctrl", self._serve_ctrl)):
            listener = socket.socket(socket.AF_UNIX)
            listener.bind(path)
            listener.listen(64)
            self.listeners.append(listener)
            threading.Thread(target=self._accept, args=(listener, handler), daemon=True).start()

    def arm(self, n=None, action=None, rc=TPM_RC_FAILURE):
        """Starts a new count of commands; with n, makes the n-th go wrong once."""
        with self.lock:
            self.commands = []
            self.responses = []
            self.fault = (n, action, rc) if n else None
            self.fired = None

    def close(self):
        for listener in self.listeners:
            listener.close()

    def _accept(self, listener, handler):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    def _serve_ctrl(self, conn):
        try:
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target + ".ctrl")
        except OSError:
            conn.close()
            return

        def pump(src, dst):
            try:
                while data := src.recv(4096):
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
        pump(conn, upstream)

    def _serve_data(self, conn):
        with conn:
            while (command := _read_message(conn)) is not None:
                code = struct.unpack(">I", command[6:10])[0]
                with self.lock:
                    self.commands.append(code)
                    action, rc = None, None
                    if self.fault and self.fault[0] == len(self.commands):
                        _, action, rc = self.fault
                        self.fired = code
                if action == "kill":
                    process = self.swtpm_process_of()
                    process.kill()
                    process.wait()
                    return
                if action == "refuse":
                    conn.sendall(struct.pack(">HII", 0x8001, 10, rc))
                    continue
                try:
                    with socket.socket(socket.AF_UNIX) as upstream:
                        upstream.connect(self.target)
                        upstream.sendall(command)
                        response = _read_message(upstream)
                except OSError:
                    return
                if response is None:
                    return
                with self.lock:
                    self.responses.append(struct.unpack(">I", response[6:10])[0])
                conn.sendall(struct.pack(">HII", 0x8001, 10, rc) if action == "lose" else response)
