#!/usr/bin/env python3
"""SIGKILL at random points of `tpmauthn enroll` and `tpmauthn assert`.

After every kill: every key-store file parses, an enrollment leaves no
temporary file, the stored signature counter never goes back, and the
credentials file still parses (`tpmauthn list`). Every tenth round a complete
assertion must still succeed with a counter above everything stored or
returned before, and leave no temporary file at all; a credential line never
exists without its key.

swtpm has no resource manager: a killed client's transient objects and
sessions stay loaded, where the kernel's /dev/tpmrm0 would flush them. The
test flushes them with tpm2_flushcontext after each kill, as the kernel would.

usage: crash_test.py TPMAUTHN [KILLS]     (default 1000 kills: 4/5 assert, 1/5 enroll)
"""
import base64
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import Checks, Swtpm  # noqa: E402
checks = Checks(verbose=True)
check = checks.check

tpmauthn = sys.argv[1]
kills = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
RP = "pam://crash-test"
PIN = "135792"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


with tempfile.TemporaryDirectory() as tmp:
    swtpm = Swtpm(os.path.join(tmp, "tpm"))
    try:
        store, creds = os.path.join(tmp, "keys"), os.path.join(tmp, "credentials")
        open(creds, "w").write("# credentials\n")
        base = [tpmauthn, "--tcti", swtpm.tcti, "--store", store, "--credentials", creds]
        with_pin = ["sh", "-c", f'exec "$@" 3<<EOF\n{PIN}\nEOF', "sh"]

        def enroll_argv(user):
            return with_pin + base + ["enroll", user, "--pin-fd", "3", "--rp-id", RP,
                                      "--origin", RP, "--label", "crash test"]

        def flush_dead_clients_handles():
            for kind in ("-t", "-l", "-s"):
                subprocess.run(["tpm2_flushcontext", "-T", swtpm.tcti, kind],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def key_records():
            """Parses every key-store file; returns {file: record} and the names of
            anything that is not a key record (temporary files, say)."""
            records, strays = {}, []
            for name in os.listdir(store):
                path = os.path.join(store, name)
                if name.endswith(".lock"):
                    continue
                if not name.endswith(".key"):
                    strays.append(name)
                    continue
                with open(path) as f:
                    records[name] = json.load(f)
            return records, strays

        p = subprocess.run(enroll_argv("alice"), capture_output=True, text=True, timeout=60)
        check("enroll alice", p.returncode == 0, p.stderr)
        (alice_file,) = key_records()[0].keys()
        assert_argv = with_pin + base + ["assert", "--rp-id", RP, "--origin", RP, "--pin-fd", "3",
                                         "--credential", alice_file[:-len(".key")],
                                         "--challenge", b64(os.urandom(32))]

        def stored_counter():
            with open(os.path.join(store, alice_file)) as f:
                return json.load(f)["counter"]

        def full_assert():
            p = subprocess.run(assert_argv, capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                return None, p.stderr
            auth_data = base64.urlsafe_b64decode(
                json.loads(p.stdout)["response"]["authenticatorData"] + "==")
            return int.from_bytes(auth_data[33:37], "big"), ""

        # How long one command takes, so that kills land anywhere inside it.
        started = time.monotonic()
        for _ in range(5):
            full_assert()
        assert_seconds = (time.monotonic() - started) / 5
        started = time.monotonic()
        for i in range(3):
            subprocess.run(enroll_argv(f"warmup{i}"), capture_output=True, timeout=60)
        enroll_seconds = (time.monotonic() - started) / 3

        highest_seen = stored_counter()
        problems = []
        rounds_ok = 0
        for i in range(kills):
            enrolling = i % 5 == 4
            argv = enroll_argv(f"user{i}") if enrolling else assert_argv
            limit = enroll_seconds if enrolling else assert_seconds
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(random.uniform(0, limit * 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            flush_dead_clients_handles()
            try:
                records, strays = key_records()
            except (OSError, ValueError) as e:
                problems.append(f"kill {i}: unreadable key store: {e}")
                break
            # A kill between linking a counter update's temporary file and the
            # rename leaves ".ID.key.tmp-..." (complete, never read); the next
            # write of that key removes it. An enrollment never leaves one.
            strays = [s for s in strays if not s.startswith(f".{alice_file}.tmp-")]
            if strays:
                problems.append(f"kill {i}: left behind {strays}")
            counter = stored_counter()
            if counter < highest_seen:
                problems.append(f"kill {i}: counter went back from {highest_seen} to {counter}")
            highest_seen = max(highest_seen, counter)
            if i % 10 == 9:
                signed, err = full_assert()
                if signed is None or signed <= highest_seen:
                    problems.append(f"kill {i}: assertion after the kill: {signed} {err}")
                else:
                    highest_seen = signed
                    rounds_ok += 1
                if key_records()[1]:
                    problems.append(f"kill {i}: after a completed assertion: {key_records()[1]}")
            if i % 50 == 49 or i == kills - 1:
                listed = subprocess.run(base + ["list", "--json"], capture_output=True, text=True)
                if listed.returncode != 0:
                    problems.append(f"kill {i}: tpmauthn list: {listed.stderr}")
                    break
                for cred in json.loads(listed.stdout):
                    if not os.path.exists(os.path.join(store, cred["credentialId"] + ".key")):
                        problems.append(f"kill {i}: credential {cred['credentialId']} has no key")
            if len(problems) > 5:
                break

        print(f"{kills} kills (assert ~{assert_seconds * 1000:.0f} ms, "
              f"enroll ~{enroll_seconds * 1000:.0f} ms per run); "
              f"{rounds_ok} assertions after kills succeeded; stored counter {highest_seen}")
        check("every kill left readable files, no strays, no counter rollback, and assertions "
              "still work", not problems, "\n".join(problems))
        check("the counter moved on", highest_seen > kills // 10, highest_seen)
    finally:
        swtpm.stop()

checks.finish()
