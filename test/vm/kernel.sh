#!/usr/bin/env bash
# Fetches, once, Debian's kernel (the linux-image-amd64 package's image)
# into a cache outside the repository and prints the path of its vmlinuz.
# The package is downloaded and unpacked, never installed on this machine.
# Usage: test/vm/kernel.sh   (SUPERVISE_KERNEL_CACHE=/var/cache/supervise-test/kernel)
set -euo pipefail
cache=${SUPERVISE_KERNEL_CACHE:-/var/cache/supervise-test/kernel}
mkdir -p "$cache"
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then apt-get update -qq >&2; fi
# The metapackage names the versioned image package it depends on.
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$pkg" ] || { echo "no linux-image package behind linux-image-amd64" >&2; exit 1; }
ver=${pkg#linux-image-}
if [ -f "$cache/vmlinuz-$ver" ]; then echo "$cache/vmlinuz-$ver"; exit 0; fi
tmp=$(mktemp -d)
chmod 755 "$tmp"   # apt-get download runs as _apt
trap 'rm -rf "$tmp"' EXIT
echo "fetching $pkg (once; about 70 MB)" >&2
(cd "$tmp" && apt-get download "$pkg" >&2)
dpkg-deb -x "$tmp"/*.deb "$tmp/x"
cp "$tmp/x/boot/vmlinuz-$ver" "$cache/vmlinuz-$ver.tmp"
mv "$cache/vmlinuz-$ver.tmp" "$cache/vmlinuz-$ver"
echo "$cache/vmlinuz-$ver"
