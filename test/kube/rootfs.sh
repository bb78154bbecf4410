#!/usr/bin/env bash
# Makes, once, the Debian root filesystem the Docker and Kubernetes tests
# build their worker images from (python3-rq, redis-server, redis-tools,
# and python3-croniter, which RQ 2.x's command line imports), in a cache
# outside the repository, and prints its path. About two minutes the first
# time.
# Usage: test/kube/rootfs.sh   (SUPERVISE_ROOTFS=/var/cache/supervise-test/rootfs)
set -euo pipefail
dir=${SUPERVISE_ROOTFS:-/var/cache/supervise-test/rootfs}
if [ -x "$dir/usr/bin/redis-server" ] && [ -x "$dir/usr/bin/python3" ] && [ -d "$dir/usr/lib/python3/dist-packages/croniter" ]; then
  echo "$dir"; exit 0
fi
command -v debootstrap >/dev/null || { echo "no debootstrap (apt-get install debootstrap)" >&2; exit 1; }
rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
echo "debootstrapping $dir (about two minutes, once)" >&2
debootstrap --variant=minbase --include=python3-rq,python3-croniter,redis-server,redis-tools bookworm "$dir.tmp" >&2
rm -rf "$dir" "$dir-layer.tar"   # the kubelet tests cache a layer of it beside it
mv "$dir.tmp" "$dir"
echo "$dir"
