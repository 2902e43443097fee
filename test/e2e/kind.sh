#!/usr/bin/env bash
# The e2e specs on kind, for people with Docker (CI runs the same specs on the local cluster instead):
# creates a kind cluster, builds the three images from images/Dockerfile, loads them into the cluster,
# runs test/e2e/chart.test.ts (which installs the chart with the simulators), collects logs on failure.
# The kind steps are scripts/cluster/kind.ts, which `npm run demo -- --kind` runs too.
#
#   test/e2e/kind.sh [--keep] [--name NAME] [--node-image kindest/node:vX] [--cgroup-v1] [--extra-ca FILE]
#
# Needs: docker with the buildx plugin, kind (https://kind.sigs.k8s.io), helm 3, and `npm ci` done —
# checked before any cluster is created. --keep leaves the cluster up (kubectl --context kind-NAME);
# otherwise a cluster this script created is deleted at the end (one that existed before is left alone),
# and logs of a failed run are in ./kind-logs/. --cgroup-v1 sets kubelet's failCgroupV1: false (kubelet
# ≥ 1.35 refuses cgroup v1 otherwise; set on its own when `docker info` reports cgroup v1). --extra-ca:
# a CA (PEM) npm trusts inside `docker build`, behind a TLS-intercepting proxy.
set -euo pipefail
cd "$(dirname "$0")/../.."

name=securekey-e2e
keep=false
kind_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=true; shift ;;
    --name) name="$2"; shift 2 ;;
    --node-image | --extra-ca) kind_args+=("$1" "$2"); shift 2 ;;
    --cgroup-v1) kind_args+=("$1"); shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

[ -x node_modules/.bin/node ] || { echo "run npm ci first" >&2; exit 1; }
# On the project's Node 24 (node_modules/.bin first), whatever node the machine has.
export PATH="$PWD/node_modules/.bin:$PATH"
# (${arr[@]+…}: bash 3.2 on macOS treats an empty array as unset under set -u)
kind_ts() { node scripts/cluster/kind.ts "$1" --name "$name" ${kind_args[@]+"${kind_args[@]}"} "${@:2}"; }

step() { printf '\n=== %s\n' "$*"; }
version=$(node -p "require('./package.json').version")
repo=localhost/securekey
kubeconfig=$(mktemp -t "kind-$name-XXXX.kubeconfig")

created=false
cleanup() {
  status=$?
  exists=false
  if kind get clusters 2>/dev/null | grep -qx "$name"; then exists=true; fi
  if [ "$status" -ne 0 ] && [ "$exists" = true ]; then
    step "failed: collecting logs into ./kind-logs"
    kind export logs ./kind-logs --name "$name" >/dev/null 2>&1 || true
  fi
  if [ "$exists" = true ] && { [ "$keep" = true ] || [ "$created" = false ]; }; then
    echo "cluster left running: kubectl --context kind-$name …   (kind delete cluster --name $name)"
  elif [ "$exists" = true ]; then
    kind delete cluster --name "$name" >/dev/null 2>&1 || true
  fi
  rm -f "$kubeconfig"
  exit "$status"
}
trap cleanup EXIT

step "kind cluster $name (prerequisites first)"
state=$(kind_ts create)
if [ "$state" = created ]; then created=true; fi

step "images (images/Dockerfile) → kind"
kind_ts images --repo "$repo" --tag "$version" --kubeconfig "$kubeconfig"

step "specs (test/e2e/chart.test.ts: installs the chart with the simulators)"
KUBECONFIG="$kubeconfig" SECUREKEY_E2E=1 SECUREKEY_E2E_CLUSTER=existing \
  SECUREKEY_E2E_IMAGE_REPO="$repo" SECUREKEY_E2E_IMAGE_TAG="$version" HELM="$(command -v helm)" \
  vitest run --project e2e test/e2e/chart.test.ts
