#!/usr/bin/env bash
# Builds the .deb (with lintian) and .rpm packages from HEAD and checks them:
# contents and modes in a throwaway root (dpkg -x), that the packaged module
# dlopens and exports only pam_sm_*, that the man pages render without
# warnings, and the RPM file lists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
fail=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

"$root/scripts/build-deb.sh" "$dist/deb"
"$root/scripts/build-rpm.sh" "$dist/rpm"

echo "== .deb contents in a throwaway root"
tree="$dist/root"
for deb in "$dist"/deb/libpam-tpmauthn_*.deb "$dist"/deb/tpmauthn_*.deb; do dpkg -x "$deb" "$tree"; done
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
module="$tree/lib/$arch/security/pam_tpmauthn.so"
mode() { stat -c %a "$1"; }
check "module in the multiarch security dir" test -f "$module"
check "module mode 0644" test "$(mode "$module")" = 644
check "tpmauthn in /usr/bin, mode 0755" test "$(mode "$tree/usr/bin/tpmauthn")" = 755
check "commented tpmauthn.conf in /etc/tpmauthn" grep -q '^#max_tries=3' "$tree/etc/tpmauthn/tpmauthn.conf"
check "pam-auth-update profile, not enabled by default" grep -q '^Default: no' "$tree/usr/share/pam-configs/tpmauthn"
check "pam-auth-update profile is Primary auth" grep -q '^Auth-Type: Primary' "$tree/usr/share/pam-configs/tpmauthn"
check "polkit-agent-helper drop-in grants /dev/tpmrm0" \
  grep -q 'DeviceAllow=/dev/tpmrm0 rw' "$tree/usr/lib/systemd/system/polkit-agent-helper@.service.d/polkit-agent-helper-tpmauthn.conf"
for page in man1/tpmauthn.1 man5/tpmauthn-credentials.5 man8/pam_tpmauthn.8 man8/tpmauthn-helper.8; do
  check "man page $page renders without warnings" \
    sh -c "[ -z \"\$(MANWIDTH=80 man --warnings -l '$tree/usr/share/man/$page.gz' 2>&1 >/dev/null)\" ]"
done
check "postinst makes /var/lib/tpmauthn/{keys,state} 0700" \
  sh -c "dpkg-deb -e '$(ls "$dist"/deb/tpmauthn_*.deb)' '$dist/ctl' && grep -q 'chmod 0700 /var/lib/tpmauthn/keys /var/lib/tpmauthn/state' '$dist/ctl/postinst'"
check "packaged module dlopens" python3 -c "import ctypes,sys; ctypes.CDLL(sys.argv[1])" "$module"
exports=$(nm -D --defined-only "$module" | awk '{print $3}' | sort | tr '\n' ' ')
check "packaged module exports only pam_sm_*" \
  test "$exports" = "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_chauthtok pam_sm_setcred "
check "packaged tpmauthn runs" "$tree/usr/bin/tpmauthn" --version
check "tpmauthn-helper in /usr/lib/$arch/tpmauthn, setuid root (4755 root/root)" \
  sh -c "dpkg-deb -c '$(ls "$dist"/deb/libpam-tpmauthn_*.deb)' | grep -qE '^-rwsr-xr-x root/root .* ./usr/lib/$arch/tpmauthn/tpmauthn-helper$'"
check "the packaged module runs the packaged helper" \
  grep -qa "/usr/lib/$arch/tpmauthn/tpmauthn-helper" "$module"

echo "== .rpm contents"
rpmlist=$(rpm -qlp "$dist"/rpm/*.rpm 2>/dev/null)
for path in /usr/bin/tpmauthn /usr/lib64/security/pam_tpmauthn.so /etc/tpmauthn/tpmauthn.conf \
            /var/lib/tpmauthn/keys /var/lib/tpmauthn/state; do
  check "rpm ships $path" grep -qx "$path" <<<"$rpmlist"
done
check "rpm ships pam_tpmauthn(8)" grep -qE '^/usr/share/man/man8/pam_tpmauthn\.8(\.gz)?$' <<<"$rpmlist"
check "rpm ships tpmauthn-helper setuid root" sh -c "rpm -qlvp '$dist'/rpm/pam_tpmauthn-*.rpm 2>/dev/null | grep -qE '^-rwsr-xr-x .* root +root .* /usr/libexec/tpmauthn/tpmauthn-helper$'"
check "rpm key store is 0700" sh -c "rpm -qlvp '$dist'/rpm/tpmauthn-*.rpm 2>/dev/null | grep -q '^drwx------ .* /var/lib/tpmauthn/keys$'"
exit $fail
