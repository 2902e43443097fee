#!/usr/bin/env bash
# Builds the upstream Kubernetes components, etcd and Helm that the integration and e2e tiers run, from
# their Go modules (through the Go module proxy; nothing else is downloaded), into a cache outside the
# repository. Idempotent: a component already built at the pinned version is not rebuilt.
#
#   scripts/setup-k8s.sh [component ...]     components: kube-apiserver etcd kube-controller-manager
#                                            kube-scheduler kubelet kube-proxy kubectl helm coredns
#                                            (default: the first two)
#   prints the bin directory on the last line of stdout.
#
# Pinned versions (see docs/adr/0004-local-control-plane-from-go-modules.md).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
CACHE="${SECUREKEY_CACHE:-$HOME/.cache/securekey}"
BIN="$CACHE/bin/k8s-$K8S_VERSION"
mkdir -p "$BIN"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver etcd)

log() { printf '[setup-k8s] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "Go is required (https://go.dev/dl); it is on CI machines at /usr/local/go"; exit 1; }
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export CGO_ENABLED=0

# Neither k8s.io/kubernetes nor etcd's server module can be `go install`ed at a version: their go.mod
# files replace sibling modules with relative paths (./staging/..., ../api). A throwaway module requires
# the target and points each such sibling at its published release instead, then builds the command.
throwaway_module() { # name, module, version, sibling version, blank-import package
  local name=$1 module=$2 version=$3 sibling_version=$4 anchor=$5
  local dir="$CACHE/build/$name-$version"
  if [ ! -f "$dir/.ready" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    (
      cd "$dir"
      go mod init "securekey.local/build-$name" >/dev/null 2>&1
      local gomod
      gomod=$(go mod download -json "$module@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
      go mod edit -require="$module@$version"
      # (etcd also "replaces" modules it forbids with ./FORBIDDEN_DEPENDENCY; those are not siblings.)
      grep -v FORBIDDEN "$gomod" | sed -n 's/^[[:space:]]*\(replace[[:space:]]\+\)\{0,1\}\([^[:space:]]\+\)[[:space:]]\+=>[[:space:]]\+\.\{1,2\}\/.*/\2/p' |
        while read -r m; do go mod edit -replace="$m=$m@$sibling_version"; done
      printf 'package main\n\nimport _ "%s"\n\nfunc main() {}\n' "$anchor" > tools.go
      go mod tidy >&2
    )
    touch "$dir/.ready"
  fi
  echo "$dir"
}

build() { # binary name, throwaway name, module, version, sibling version, anchor package, main package, ldflags
  local bin=$1; shift
  [ -x "$BIN/$bin" ] && { log "$bin cached"; return; }
  local dir; dir=$(throwaway_module "$1" "$2" "$3" "$4" "$5")
  log "building $bin from $2@$3 (the first build takes minutes)"
  (cd "$dir" && go build -trimpath -ldflags "-s -w $7" -o "$BIN/$bin.tmp" "$6")
  mv "$BIN/$bin.tmp" "$BIN/$bin"
}

K8S_STAGING="v0.${K8S_VERSION#v1.}"
K8S_LDFLAGS="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
build_k8s() { # component
  build "$1" k8s k8s.io/kubernetes "$K8S_VERSION" "$K8S_STAGING" "k8s.io/kubernetes/cmd/kube-apiserver/app" \
    "k8s.io/kubernetes/cmd/$1" "$K8S_LDFLAGS"
}

for c in "${components[@]}"; do
  case "$c" in
    kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | kubectl) build_k8s "$c" ;;
    helm)
      # Helm's go.mod has no relative replaces: a plain versioned install works.
      if [ -x "$BIN/helm" ]; then log "helm cached"; else
        log "building helm $HELM_VERSION"
        GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
          "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
      fi ;;
    coredns)
      # The cluster DNS kind and kubeadm deploy; its go.mod has no relative replaces either.
      if [ -x "$BIN/coredns" ]; then log "coredns cached"; else
        log "building coredns $COREDNS_VERSION (the first build takes minutes)"
        GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
      fi ;;
    etcd) build etcd etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION" go.etcd.io/etcd/server/v3/etcdmain \
      go.etcd.io/etcd/server/v3 "" ;;
    *) log "unknown component $c"; exit 2 ;;
  esac
done
echo "$BIN"
