#!/usr/bin/env bash
# Installs every package tpmauthn needs to build, test, fuzz and benchmark on
# Debian 12 (bookworm) and 13 (trixie). Idempotent; run as root (or it
# re-executes itself with sudo when available).
set -euo pipefail

# Names that differ between releases, chosen by /etc/os-release.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
case "$codename" in
  bookworm) clang_rt=libclang-rt-14-dev ;;  # clang 14
  *) clang_rt=libclang-rt-dev ;;            # trixie and later: the default clang's
esac

packages=(
  # build
  meson ninja-build pkg-config g++ clang lld
  # libraries
  libssl-dev libcbor-dev nlohmann-json3-dev libcli11-dev libboost-test-dev
  libfido2-dev libtss2-dev libpam0g-dev libfmt-dev libldap-dev
  # trixie's pam.pc says Requires.private: audit, and libpam0g-dev does not pull it
  libaudit-dev
  # fuzzing runtime of the default clang (-fsanitize=fuzzer)
  "$clang_rt"
  # tests: software TPM, PAM without touching /etc, libfido2's CLI as an independent verifier
  swtpm swtpm-tools tpm2-tools libpam-wrapper libpamtest0-dev pamtester fido2-tools
  # python-fido2 as an independent "tpm" attestation verifier (attestation_cli test)
  python3-fido2
  # the known-CVE suite signs with an RSA-4096 key made by the openssl CLI
  openssl
  # the PIN-entry test slows the terminal calls down (strace -e inject)
  strace
  # real PAM consumers, driven in a private mount namespace; nm for the export check
  sudo login util-linux binutils
  # a screen locker run as the user (tpmauthn-helper test): i3lock on Xvfb, typed into by xdotool
  i3lock xvfb xdotool iproute2
  # the fleet test runs its own slapd on 127.0.0.1 (the system one is kept from starting)
  slapd ldap-utils
  # memcheck on the PAM path
  valgrind
  # SSH end-to-end test (installed without starting a system sshd: see below)
  openssh-client openssh-server
  # docs
  scdoc
  # packaging: .deb (debhelper, lintian) and .rpm (Debian's rpm)
  debhelper dpkg-dev lintian rpm
)

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then exec sudo "$0" "$@"; fi
  echo "install-deps: must run as root to apt-get install" >&2
  exit 1
fi

# SimpleWebAuthn, an independent verifier for the "tpm" attestation test, runs
# on Node.js: Debian's nodejs and npm unless a Node.js is already installed
# (a NodeSource one brings its own npm and conflicts with Debian's).
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

# Test-only npm packages, pinned by tests/independent/package-lock.json, into
# tests/independent/node_modules (not tracked); the npm cache stays there too.
install_npm_packages() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/independent"
  echo "install-deps: npm ci in $dir"
  # The system's CA bundle (with any local CA, e.g. a proxy's), not only
  # Node's built-in list.
  local ca=()
  [ -f /etc/ssl/certs/ca-certificates.crt ] && ca=(--cafile /etc/ssl/certs/ca-certificates.crt)
  # Not fatal: the demo and the build need none of it; the attestation test
  # fails and says so when it is missing.
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error --cache "$dir/.npm-cache" "${ca[@]}" ||
    echo "install-deps: npm ci failed; tests/cli/attestation_cli_test.py will fail its SimpleWebAuthn check" >&2
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_npm_packages
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Packages such as openssh-server and slapd start their service on install; the
# tests run their own sshd and slapd on 127.0.0.1, so keep the system ones from
# starting.
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && created_policy=1
fi
trap '[ -n "$created_policy" ] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_packages
