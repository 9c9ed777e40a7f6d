#!/usr/bin/env bash
# The tpmauthn demo on an embedded software TPM: builds the project, starts a
# private swtpm on a unix socket in a temporary directory, enrolls a demo user
# with a PIN, signs an assertion with the right PIN, verifies it as a relying
# party would, shows a wrong PIN being refused and counted by the TPM, and
# cleans up (swtpm is stopped by its PID).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The preparation steps are quiet, but a failing one shows all it printed.
quietly() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    echo "demo: $* failed:" >&2
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}
echo "Preparing: packages, build (a minute or two the first time) ..."
quietly "$root/scripts/install-deps.sh"
build=${TPMAUTHN_BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || quietly meson setup "$build"
quietly meson compile -C "$build"
tpmauthn="$root/$build/cli/tpmauthn"

work=$(mktemp -d)
swtpm_pid=
cleanup() {
  [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null && wait "$swtpm_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/tpm"
swtpm socket --tpm2 --server "type=unixio,path=$work/tpm/sock" \
  --ctrl "type=unixio,path=$work/tpm/sock.ctrl" --tpmstate "dir=$work/tpm" \
  --flags not-need-init,startup-clear >/dev/null 2>&1 &
swtpm_pid=$!
for _ in $(seq 100); do [ -S "$work/tpm/sock" ] && break; sleep 0.05; done
echo "# demo credentials" > "$work/credentials"
t() { "$tpmauthn" --tcti "swtpm:path=$work/tpm/sock" --store "$work/keys" \
        --credentials "$work/credentials" "$@"; }
b64url() { python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())'; }
rp=pam://demo-host

echo "1. A software TPM is running (swtpm, pid $swtpm_pid):"
t status | sed 's/^/   /'

echo
echo "2. Enroll user 'demo' with PIN 246813 (read from descriptor 3, never argv):"
challenge=$(b64url)
t enroll demo --label "demo laptop" --rp-id "$rp" --origin "$rp" --challenge "$challenge" \
  --pin-fd 3 --json 3<<<"246813" > "$work/registration.json"
echo "   credentials file line:"
grep -v '^#' "$work/credentials" | cut -c1-150 | sed 's/^/   /'
python3 - "$work" "$challenge" "$rp" <<'PY'
import json, sys
work, challenge, rp = sys.argv[1:4]
reg = json.load(open(work + "/registration.json"))
json.dump({"kind": "registration", "expectedChallenge": challenge, "expectedOrigin": rp,
           "expectedRPID": rp, "response": reg}, open(work + "/reg-doc.json", "w"))
PY
echo "   the registration, checked by the relying-party verifier:"
t verify "$work/reg-doc.json" | tee "$work/reg-verdict.json" | cut -c1-160 | sed 's/^/   /'

echo
echo "3. Log in: a fresh challenge, the TPM signs after checking the PIN:"
challenge=$(b64url)
t assert --rp-id "$rp" --origin "$rp" --challenge "$challenge" --user demo --pin-fd 3 \
  3<<<"246813" > "$work/assertion.json"
python3 -m json.tool "$work/assertion.json" | sed 's/^/   /'
python3 - "$work" "$challenge" "$rp" <<'PY'
import json, sys
work, challenge, rp = sys.argv[1:4]
reg = json.load(open(work + "/reg-verdict.json"))
auth = json.load(open(work + "/assertion.json"))
json.dump({"kind": "authentication", "expectedChallenge": challenge, "expectedOrigin": rp,
           "expectedRPID": rp, "response": auth,
           "credential": {"id": reg["credentialId"], "publicKey": reg["publicKey"], "counter": 0}},
          open(work + "/auth-doc.json", "w"))
PY
echo "   verdict:"
t verify "$work/auth-doc.json" | sed 's/^/   /'

echo
echo "4. The same through PAM: pam_tpmauthn.so under pamtester (pam_wrapper keeps /etc/pam.d untouched):"
mkdir "$work/pam.d"
echo "auth required $root/$build/pam_module/pam_tpmauthn.so credentials=$work/credentials store=$work/keys state=$work/state tcti=swtpm:path=$work/tpm/sock rp_id=$rp origin=$rp max_tries=1 cue" \
  > "$work/pam.d/tpmauthn-demo"
echo "auth required pam_deny.so" > "$work/pam.d/other"
pam() {
  LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$work/pam.d" \
    pamtester -v tpmauthn-demo demo authenticate 2>&1 | sed 's/^/   /'
}
echo "   right PIN:"
pam <<<"246813"
echo "   wrong PIN:"
pam <<<"1357" || true

echo
echo "5. The same login through the CLI with a wrong PIN:"
set +e
t assert --rp-id "$rp" --origin "$rp" --challenge "$(b64url)" --user demo --pin-fd 3 \
  3<<<"1357" >/dev/null 2>"$work/wrong.txt"
rc=$?
set -e
sed 's/^/   /' "$work/wrong.txt"
echo "   (exit status $rc)"
[ "$rc" -eq 1 ]
echo "   The wrong PIN counted against this credential's own PIN index, not the TPM's lockout:"
t status | grep -E "^(Lockout|PIN)" | sed 's/^/   /'
echo
echo "Demo complete; swtpm stopped and $work removed."
