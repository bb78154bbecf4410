#!/usr/bin/env bash
# Builds real Kubernetes components from k8s.io/kubernetes through the Go
# module proxy, once each, into a cache outside the repository, and prints
# the directory that holds them.
# Usage: test/kube/build.sh [COMPONENT...]   (default: kube-apiserver)
#   KUBE_VERSION=v1.37.2  KUBE_CACHE=/var/cache/supervise-test
# Components: kube-apiserver kubelet kube-scheduler kube-controller-manager
set -euo pipefail
version=${KUBE_VERSION:-v1.37.2}
staging=v0${version#v1}             # v1.37.2 -> v0.37.2, the staging modules' version
cache=${KUBE_CACHE:-/var/cache/supervise-test}/kube-$version
[ $# -gt 0 ] || set -- kube-apiserver
missing=()
for c in "$@"; do [ -x "$cache/$c" ] || missing+=("$c"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$cache"; exit 0; fi
mkdir -p "$cache/src"
cd "$cache/src"
export GOFLAGS=-mod=mod
[ -f go.mod ] || go mod init kubebuild >/dev/null 2>&1
if ! grep -q "k8s.io/kubernetes $version" go.mod; then
  go mod edit -require=k8s.io/kubernetes@"$version"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
  # them with local directories; point each at its published version.
  modfile=$(go mod download -json k8s.io/kubernetes@"$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  for m in $(awk '/^replace/{r=1} r && $1 ~ /^k8s.io\// && $2=="=>" {print $1}' "$modfile"; sed -n 's/^\t\(k8s.io\/[^ ]*\) => .*/\1/p' "$modfile"); do
    go mod edit -replace="$m=$m@$staging"
  done
  # The kubelet imports k8s.io/cri-streaming, which the list above does not
  # name; without this replace go mod tidy asks for v0.0.0 and gets a 403.
  go mod edit -replace="k8s.io/cri-streaming=k8s.io/cri-streaming@$staging"
fi
# A blank import of each command keeps go mod tidy from dropping what the
# builds need.
{ echo "//go:build tools"; echo "package tools"; echo "import ("
  for c in kube-apiserver kubelet kube-scheduler kube-controller-manager; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ")"; } > tools.go
go mod tidy >/dev/null 2>&1 || go mod tidy
ld="-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)"
for c in "${missing[@]}"; do
  echo "building $c $version (a few minutes, once)" >&2
  CGO_ENABLED=0 go build -ldflags "-s -w $ld" -o "$cache/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$cache/$c.tmp" "$cache/$c"
done
echo "$cache"
