#!/usr/bin/env bash
# README's two commands on a fresh Debian machine of another release:
#
#   [TEST_ARGS=--no-sanitizers] scripts/test-in-debian.sh trixie
#
# makes a Debian root file system with debootstrap from the Debian mirror this
# machine's own apt sources name, mounts what a real machine has (/proc, /sys,
# /dev, devpts, a tmpfs /dev/shm and /run; the root a mount point of its own
# so that `unshare -m` works inside), clones this repository into /root there
# (mode 0700, as on a real machine), and runs ./scripts/test.sh and then
# ./scripts/demo.sh inside it with a clean environment (in that order, so the
# demo runs on the tests' -Werror build instead of compiling it all again). Every mount is undone
# and the root file system removed at the end, pass or fail. Run as root; the
# exit status is the tests'.
set -euo pipefail
release=${1:?usage: scripts/test-in-debian.sh RELEASE (e.g. trixie)}
source_tree=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "test-in-debian: must run as root (debootstrap, chroot, mounts)" >&2
  exit 1
fi

# The mirrors this machine uses: the first URIs of its deb822 sources (or the
# first deb line of sources.list) for the archive, the second for security.
uris() {
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    awk '/^URIs:/ { print $2 }' /etc/apt/sources.list.d/debian.sources
  fi
  if [ -f /etc/apt/sources.list ]; then
    awk '$1 == "deb" { print ($2 ~ /^\[/ ? $3 : $2) }' /etc/apt/sources.list
  fi
}
mirror=$(uris | sed -n 1p)
security=$(uris | grep -m1 security || true)
if [ -z "$mirror" ]; then
  echo "test-in-debian: no Debian mirror in this machine's apt sources" >&2
  exit 1
fi
[ -n "$security" ] || security="${mirror%/debian}/debian-security"

export DEBIAN_FRONTEND=noninteractive
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap

work=$(mktemp -d /var/tmp/tpmauthn-"$release".XXXXXX)
target="$work/root"
mounts=()
cleanup() {
  local status=$?
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${mounts[i]}" 2>/dev/null || true
  done
  # Never remove through a mount that is still there (host /dev, the source).
  if grep -q " $work" /proc/self/mounts; then
    echo "test-in-debian: mounts remain under $work; not removing it" >&2
    status=1
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

attach() {  # attach MOUNT-ARGS... TARGET: mount and remember it for cleanup
  mount "$@"
  mounts+=("${!#}")
}

started=$(date +%s)
echo "== debootstrap $release from $mirror"
debootstrap "$release" "$target" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
echo "   done in $(($(date +%s) - started)) s"

cat >"$target/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
rm -f "$target/etc/apt/sources.list"
cp /etc/resolv.conf "$target/etc/resolv.conf"

# What a real machine has mounted. Private/slave propagation, so nothing
# mounted inside reaches this machine's own /dev.
attach --rbind "$target" "$target"
mount --make-rprivate "$target"
attach -t proc proc "$target/proc"
attach -t sysfs sysfs "$target/sys"
attach --rbind /dev "$target/dev"
mount --make-rslave "$target/dev"
attach -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$target/dev/pts"
attach -t tmpfs -o mode=1777 tmpfs "$target/dev/shm"
attach -t tmpfs -o mode=755 tmpfs "$target/run"
mkdir -p "$target/mnt/source"
attach --bind -o ro "$source_tree" "$target/mnt/source"

in_root() {
  chroot "$target" env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"
}

# The network's TLS trust, as this machine has it: local CAs it added (a
# proxy's, a company's) go into the root before ca-certificates builds its
# bundle (npm fetches the test-only SimpleWebAuthn over TLS).
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$target/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$target/usr/local/share/ca-certificates/"
fi

echo "== $release: git, and a clone in /root"
in_root 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git ca-certificates >/dev/null && update-ca-certificates >/dev/null'
in_root 'chmod 0700 /root && git clone -q /mnt/source /root/tpmauthn && stat -c "/root is %a" /root'
umount -l "$target/mnt/source" && unset 'mounts[${#mounts[@]}-1]'

# ${TEST_ARGS:-}: CI passes --no-sanitizers (its Debian 12 run has the ASan +
# UBSan stage; both together took longer than CI allows).
echo "== $release: ./scripts/test.sh ${TEST_ARGS:-}"
step=$(date +%s)
in_root "cd /root/tpmauthn && ./scripts/test.sh ${TEST_ARGS:-}"
echo "   tests done in $(($(date +%s) - step)) s"

echo "== $release: ./scripts/demo.sh (on the tests' build: one gcc build, not two)"
step=$(date +%s)
in_root 'cd /root/tpmauthn && ./scripts/demo.sh'
echo "   demo done in $(($(date +%s) - step)) s"

echo "== $release: benchmarks (figures only; they never fail on speed)"
in_root 'cd /root/tpmauthn && meson test -C build --benchmark --verbose --no-rebuild 2>&1 |
         grep -vE "^(ninja|\s*$)"' || true
echo "== $release run: $(($(date +%s) - started)) s in all"
