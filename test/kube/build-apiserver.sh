#!/usr/bin/env bash
# Builds a real kube-apiserver from k8s.io/kubernetes through the Go module
# proxy, once, into a cache outside the repository. Prints the binary's path.
# Usage: test/kube/build-apiserver.sh [CACHE_DIR]   (KUBE_VERSION=v1.37.2)
set -euo pipefail
version=${KUBE_VERSION:-v1.37.2}
staging=v0${version#v1}             # v1.37.2 -> v0.37.2, the staging modules' version
cache=${1:-/var/cache/supervise-test/kube-$version}
bin=$cache/kube-apiserver
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache/src"
cd "$cache/src"
export GOFLAGS=-mod=mod
[ -f go.mod ] || go mod init kubebuild >/dev/null 2>&1
go mod edit -require=k8s.io/kubernetes@"$version"
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
# with local directories; point each at its published version instead.
modfile=$(go mod download -json k8s.io/kubernetes@"$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
for m in $(awk '/^replace/{r=1} r && $1 ~ /^k8s.io\// && $2=="=>" {print $1}' "$modfile"; sed -n 's/^\t\(k8s.io\/[^ ]*\) => .*/\1/p' "$modfile"); do
  go mod edit -replace="$m=$m@$staging"
done
go mod tidy >/dev/null 2>&1 || true
echo "building kube-apiserver $version (a few minutes, once)" >&2
CGO_ENABLED=0 go build -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$bin.tmp" "$bin"
echo "$bin"
