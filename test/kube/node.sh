#!/usr/bin/env bash
# Runs a test node: a containerd with CRI and a kubelet, fenced in so that
# they change nothing on the host. Run it in a mount namespace of its own:
#
#   unshare --mount --propagation slave test/kube/node.sh DIR KUBELET
#
# DIR holds containerd.toml, kubelet.yaml and kubeconfig (the test writes
# them); KUBELET is the kubelet binary. Left alone, the kubelet rewrites
# host sysctls (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops,
# vm.panic_on_oom, kernel.keys.root_maxkeys/root_maxbytes) and adds iptables
# chains, and it and containerd create directories under /var and /run.
# Here, in this mount namespace only:
#   - each of those /proc/sys entries is a file holding the host's value;
#   - iptables and its -save/-restore tools fail (the kubelet then logs
#     "No iptables support" and carries on);
#   - /run/containerd, /var/lib/kubelet, /var/log/pods and
#     /var/log/containers are private tmpfs mounts.
# What still reaches the host are the kubepods cgroups; the test removes
# them. The script ends with the kubelet; containerd dies with it.
set -euo pipefail
dir=$1 kubelet=$2
# The test ends every process of this mount namespace when it is done: it
# reads which one it is from here.
readlink /proc/self/ns/mnt > "$dir/mntns"

mkdir -p "$dir/sysctl"
for k in vm/overcommit_memory kernel/panic kernel/panic_on_oops vm/panic_on_oom \
         kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
  [ -e "/proc/sys/$k" ] || continue
  f="$dir/sysctl/${k//\//.}"
  cat "/proc/sys/$k" > "$f"
  mount --bind "$f" "/proc/sys/$k"
done

printf '#!/bin/sh\necho "iptables is fenced off on this test node" >&2\nexit 1\n' > "$dir/no-iptables"
chmod +x "$dir/no-iptables"
for t in iptables ip6tables iptables-save ip6tables-save iptables-restore ip6tables-restore \
         iptables-legacy ip6tables-legacy iptables-nft ip6tables-nft; do
  for d in /usr/sbin /sbin /usr/bin; do
    if [ -e "$d/$t" ]; then mount --bind "$dir/no-iptables" "$d/$t"; fi
  done
done

# Private directories. A mount point that does not exist yet is made; the
# test removes the empty ones it finds it made.
for d in /run/containerd /var/lib/kubelet /var/log/pods /var/log/containers; do
  mkdir -p "$d"
  mount -t tmpfs -o mode=0755 tmpfs "$d"
done

containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 &
for _ in $(seq 100); do
  [ -S "$dir/containerd.sock" ] && break
  sleep 0.1
done
[ -S "$dir/containerd.sock" ] || { echo "containerd did not start:"; tail -20 "$dir/containerd.log"; exit 1; }
echo "containerd ready"

# The kubelet's root directory is made a shared mount point here, before
# the kubelet starts. Left to itself the kubelet bind-mounts it at start
# (MakeRShared) while another of its goroutines moves a temporary socket to
# kubelet/pod-resources/kubelet.sock with rename(2); the kernel looks the
# two paths up one after the other, and a mount that lands between them
# makes the rename fail with EXDEV. The kubelet then exits ("Failed to
# create listener for podResources endpoint ... invalid cross-device
# link"; seen once, the two log lines 34 µs apart). Found already shared,
# the kubelet mounts nothing.
mkdir -p "$dir/kubelet"
mount --bind "$dir/kubelet" "$dir/kubelet"
mount --make-rshared "$dir/kubelet"

# The kubelet reads images only from this containerd: import them before
# a pod needs them (the test does, through the same socket).
exec "$kubelet" --config="$dir/kubelet.yaml" --kubeconfig="$dir/kubeconfig" \
  --root-dir="$dir/kubelet" --cert-dir="$dir/kubelet-pki" --hostname-override=node-1 \
  --v=2 >"$dir/kubelet.log" 2>&1
